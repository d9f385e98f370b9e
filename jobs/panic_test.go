package jobs_test

import (
	"context"
	"io"
	"time"

	"github.com/payrecon/payrecon/provider"
)

type panicClient struct{}

func (panicClient) DownloadBill(context.Context, time.Time, io.Writer) (provider.BillFormat, error) {
	panic("provider client bug")
}
func (panicClient) QueryPayment(context.Context, string, string) (provider.Query, error) {
	panic("provider client bug")
}
func (panicClient) QueryRefund(context.Context, string, string) (provider.Query, error) {
	panic("provider client bug")
}

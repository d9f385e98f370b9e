package wechatpay_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/archive"
	"github.com/payrecon/payrecon/provider"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/provider/sandbox/sandboxtest"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

var faultDay = time.Date(2026, 11, 20, 0, 0, 0, 0, payrecon.ShanghaiFixed)

// TestProxy502Retryable: an unsigned 502 from a proxy in front of the API
// is a retryable fault, not a bad signature, and the daily download
// retries past it.
func TestProxy502Retryable(t *testing.T) {
	fx := sandboxtest.New(t)
	d := fx.GenerateDay(faultDay, sandbox.DayOptions{Trades: 5, Seed: 1})
	fx.Serve(t, sandbox.ServerFaults{Proxy502: 3}, d)
	_, wx := fx.Clients(t)
	_, err := wx.QueryPayment(t.Context(), d.Trades[0].OutTradeNo, "")
	if !provider.IsRetryable(err) || errors.Is(err, provider.ErrBadResponse) {
		t.Fatalf("unsigned 502: %v (retryable %v), want retryable and not a bad response", err, provider.IsRetryable(err))
	}
	bills := &archive.Bills{Dir: t.TempDir(), Ledger: storetest.MustOpen(t, store.Options{}), Now: time.Now,
		Retry: 10 * time.Millisecond, Deadline: 10 * time.Second}
	bill, err := bills.Download(t.Context(), "wx", wx, payrecon.DayOf(faultDay), nil)
	if err != nil || bill.Empty() {
		t.Fatalf("download past two more 502s: %+v %v", bill, err)
	}
}

// TestExpiredDownloadURL: a download_url that has expired (404) is
// applied for again, within the same download.
func TestExpiredDownloadURL(t *testing.T) {
	fx := sandboxtest.New(t)
	d := fx.GenerateDay(faultDay, sandbox.DayOptions{Trades: 5, Seed: 1})
	fx.Serve(t, sandbox.ServerFaults{ExpiredDownload: 2}, d)
	_, wx := fx.Clients(t)
	var b bytes.Buffer
	if _, err := wx.DownloadBill(t.Context(), faultDay, &b); err != nil {
		t.Fatalf("download after two expired URLs: %v", err)
	}
	if b.Len() == 0 {
		t.Fatal("empty bill")
	}
	if n := fx.Server.Calls()["wechatpay /v3/bill/tradebill"]; n != 3 {
		t.Errorf("applied %d times, want 3", n)
	}
}

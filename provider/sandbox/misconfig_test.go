package sandbox_test

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon/provider"
	"github.com/payrecon/payrecon/provider/providertest"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/provider/sandbox/sandboxtest"
)

// TestMisconfiguredClassified: the emulator's answers to a wrong key, app
// id or merchant serial, and a refused connection, reach the caller as
// provider.ErrMisconfigured with a hint naming the config keys to check,
// and are not retryable; a bill that is not ready stays retryable.
func TestMisconfiguredClassified(t *testing.T) {
	f := sandboxtest.New(t)
	f.Serve(t, sandbox.ServerFaults{})
	ac, wc := f.Clients(t)
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

	badKey := *ac
	badKey.Key = providertest.Key(t, 3)
	badApp := *ac
	badApp.AppID = "2021999999999999"
	badSerial := *wc
	badSerial.Serial = "0000000000000000000000000000000000000000"
	badMchKey := *wc
	badMchKey.Key = providertest.Key(t, 3)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	refusedWx := *wc
	refusedWx.BaseURL = closed
	refusedAli := *ac
	refusedAli.Gateway = closed + "/gateway.do"

	cases := []struct {
		name string
		call func() error
		hint string
	}{
		{"alipay wrong private key", func() error { _, err := badKey.QueryPayment(t.Context(), "A1", ""); return err },
			"Alipay rejected our request signature: check app_private_key_file"},
		{"alipay unknown app id", func() error { _, err := badApp.DownloadBill(t.Context(), day, &bytes.Buffer{}); return err },
			"Alipay does not know this app: check app_id"},
		{"wechatpay wrong serial", func() error { _, err := badSerial.DownloadBill(t.Context(), day, &bytes.Buffer{}); return err },
			"WeChat Pay rejected our request signature: check mchid, merchant_serial and merchant_private_key_file"},
		{"wechatpay wrong key", func() error { _, err := badMchKey.QueryPayment(t.Context(), "W1", ""); return err },
			"WeChat Pay rejected our request signature"},
		{"wechatpay refused", func() error { _, err := refusedWx.DownloadBill(t.Context(), day, &bytes.Buffer{}); return err },
			"(connection refused): check base_url"},
		{"alipay refused", func() error { _, err := refusedAli.QueryPayment(t.Context(), "A1", ""); return err },
			"(connection refused): check gateway"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			if !errors.Is(err, provider.ErrMisconfigured) || provider.IsRetryable(err) {
				t.Fatalf("err = %v (misconfigured %v, retryable %v)", err, errors.Is(err, provider.ErrMisconfigured), provider.IsRetryable(err))
			}
			if !strings.Contains(provider.HintOf(err), c.hint) || !strings.Contains(err.Error(), c.hint) {
				t.Fatalf("hint %q, error %q; want %q", provider.HintOf(err), err, c.hint)
			}
		})
	}

	// A day the emulator has no bill for yet is not a misconfiguration.
	_, err = ac.DownloadBill(t.Context(), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), &bytes.Buffer{})
	if errors.Is(err, provider.ErrMisconfigured) {
		t.Fatalf("bill not ready read as misconfigured: %v", err)
	}
}

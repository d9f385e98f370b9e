package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/provider/sandbox/sandboxtest"
)

// TestReturnHint: the payment callback of an Alipay trade is dropped, but
// the merchant's return page posts the signed return to
// /api/returns/{account}; the sweep's fastest tier queries the trade and
// the merchant's app receives payment.succeeded with source=query. A
// tampered return is 400 and registers nothing.
func TestReturnHint(t *testing.T) {
	fx := sandboxtest.New(t)
	dir, cfgPath, sb := fx.Dir, fx.Config, fx.Sandbox
	day := sb.GenerateDay(time.Now(), sandbox.DayOptions{Trades: 20, Seed: 5, Faults: true})
	var dropped *sandbox.Trade
	for _, tr := range day.Trades {
		if tr.DropNotify && tr.Provider == payrecon.Alipay {
			dropped = tr
			break
		}
	}
	serveProviders(t, sb, cfgPath, sandbox.ServerFaults{}, day)
	os.WriteFile(filepath.Join(dir, "keys", "admin.token"), []byte("tok"), 0o600)
	cfg, _ := os.ReadFile(cfgPath)
	cfg = []byte(strings.Replace(string(cfg), "accounts:", "admin:\n  token_file: keys/admin.token\nsweep:\n  enabled: true\n  interval: 100ms\n  tiers: 300ms/10m, 10m/1h\naccounts:", 1))
	os.WriteFile(cfgPath, cfg, 0o600)
	rc := appFor(t, cfgPath)
	addr, logs, stop := startServe(t, cfgPath)
	defer stop()
	if res, err := sb.DeliverDays(t.Context(), &http.Client{Timeout: 10 * time.Second}, "http://"+addr, io.Discard, day); err != nil {
		t.Fatalf("%v %v", err, res.Unexpected)
	}
	ret, err := sb.SignAlipay(sb.AlipayReturnParams(sandbox.AlipayTrade{OutTradeNo: dropped.OutTradeNo, TradeNo: dropped.ProviderTradeNo,
		Amount: dropped.AmountFen, Paid: dropped.PaidAt}), sandbox.AlipayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	post := func(body string) int {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/returns/sandbox-ali", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	tampered := strings.Replace(string(ret), "total_amount=", "total_amount=1", 1)
	if code := post(tampered); code != http.StatusBadRequest {
		t.Fatalf("tampered return: %d", code)
	}
	if got := ledgerOrders(t, filepath.Join(dir, "var", "payrecon.db"), "sandbox-ali"); len(got) != 0 {
		t.Fatalf("a tampered return registered %+v", got)
	}
	if code := post(string(ret)); code != http.StatusOK {
		t.Fatalf("return: %d", code)
	}
	for range 100 {
		got, _ := rc.Events()
		for _, ev := range got {
			if _, trade := fact(t, ev); trade == dropped.OutTradeNo && ev.Type == payrecon.PaymentSucceeded {
				if ev.Source != payrecon.SourceQuery {
					t.Fatalf("event %+v, want source=query", ev)
				}
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no payment.succeeded for %s within 10 s:\n%s", dropped.OutTradeNo, logs.String())
}

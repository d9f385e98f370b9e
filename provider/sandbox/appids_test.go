package sandbox_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/provider/sandbox/sandboxtest"
	"github.com/payrecon/payrecon/provider/wechatpay"
)

// TestSeveralApps: a day spread over the merchant's apps is billed with
// each row's own appid, queries answer it, its callbacks verify, and the
// spreading leaves the seed's day otherwise unchanged.
func TestSeveralApps(t *testing.T) {
	f := sandboxtest.New(t)
	apps := append([]string{f.ID.WeChat.AppID}, f.ID.WeChat.AppIDs...)
	if len(apps) < 2 {
		t.Fatal("the sandbox merchant has one app")
	}
	d := f.GenerateDay(day, sandbox.DayOptions{Trades: 20, Seed: 9, Faults: true, AppIDs: apps})
	plain := f.GenerateDay(day, sandbox.DayOptions{Trades: 20, Seed: 9, Faults: true})
	for i, tr := range d.Trades {
		if p := plain.Trades[i]; tr.OutTradeNo != p.OutTradeNo || tr.AmountFen != p.AmountFen || !tr.PaidAt.Equal(p.PaidAt) {
			t.Fatalf("trade %d differs from the single-app day: %+v vs %+v", i, tr, p)
		}
	}
	f.Serve(t, sandbox.ServerFaults{}, d)
	_, wc := f.Clients(t)

	appOf := map[string]string{}
	for _, tr := range d.Trades {
		if tr.Provider == payrecon.WeChatPay {
			appOf[tr.OutTradeNo] = tr.AppID
		}
	}
	var b bytes.Buffer
	if _, err := wc.DownloadBill(t.Context(), day, &b); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	if _, err := wechatpay.ParseBill(&b, func(e payrecon.BillEntry) error {
		if e.AppID != appOf[e.OutTradeNo] {
			t.Errorf("bill line %d %s: appid %q, want %q", e.Line, e.OutTradeNo, e.AppID, appOf[e.OutTradeNo])
		}
		seen[e.AppID]++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, a := range apps {
		if seen[a] == 0 {
			t.Errorf("no bill row for app %s: %v", a, seen)
		}
	}

	_, v := f.Verifiers(time.Now)
	one := *v // a verifier that knows the first app only
	one.AppIDs = nil
	dls, err := f.Deliveries(d)
	if err != nil {
		t.Fatal(err)
	}
	accepted, otherApp := 0, 0
	for _, dl := range dls {
		if dl.Account != f.ID.WeChat.Account || !dl.WantAccepted {
			continue
		}
		if _, err := v.Verify(dl.Header, dl.Body); err != nil {
			t.Errorf("%s: %v", dl.Name, err)
		}
		accepted++
		if _, err := one.Verify(dl.Header, dl.Body); errors.Is(err, payrecon.ErrAccountMismatch) {
			otherApp++
		}
	}
	if accepted == 0 || otherApp == 0 || otherApp == accepted {
		t.Fatalf("%d WeChat Pay callbacks, %d of them from another app than the first", accepted, otherApp)
	}
}

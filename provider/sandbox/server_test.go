package sandbox_test

import (
	"bytes"
	"crypto/rsa"
	"errors"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider"
	"github.com/payrecon/payrecon/provider/alipay"
	"github.com/payrecon/payrecon/provider/providertest"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/provider/sandbox/sandboxtest"
	"github.com/payrecon/payrecon/provider/wechatpay"
)

var day = time.Date(2026, 11, 20, 0, 0, 0, 0, payrecon.ShanghaiFixed)

func serve(t *testing.T, faults sandbox.ServerFaults) (*sandbox.Sandbox, *sandbox.Day, *sandbox.Server, *alipay.Client, *wechatpay.Client) {
	t.Helper()
	f := sandboxtest.New(t)
	d := f.GenerateDay(day, sandbox.DayOptions{Trades: 20, Seed: 1, Faults: true})
	f.Serve(t, faults, d)
	ac, wc := f.Clients(t)
	return f.Sandbox, d, f.Server, ac, wc
}

func TestClientsQuery(t *testing.T) {
	_, d, _, ac, wc := serve(t, sandbox.ServerFaults{})
	for _, c := range []struct {
		name string
		cl   provider.Client
		p    payrecon.Provider
	}{{"alipay", ac, payrecon.Alipay}, {"wechatpay", wc, payrecon.WeChatPay}} {
		var tr *sandbox.Trade
		for _, x := range d.Trades {
			if x.Provider == c.p && len(x.Refunds) > 0 {
				tr = x
				break
			}
		}
		q, err := c.cl.QueryPayment(t.Context(), tr.OutTradeNo, "")
		if err != nil {
			t.Fatalf("%s query: %v", c.name, err)
		}
		if q.Event == nil || q.Event.Kind != payrecon.EventPayment || q.Event.AmountFen != tr.AmountFen || q.Event.ProviderTradeNo != tr.ProviderTradeNo || !q.Event.PaidAt.Equal(tr.PaidAt) {
			t.Fatalf("%s query: %+v", c.name, q.Event)
		}
		if _, err := c.cl.QueryPayment(t.Context(), "NO-SUCH-ORDER", ""); !errors.Is(err, provider.ErrNotFound) {
			t.Fatalf("%s missing order: %v", c.name, err)
		}
		rq, err := c.cl.QueryRefund(t.Context(), tr.OutTradeNo, tr.Refunds[0].OutRefundNo)
		if err != nil || rq.Event == nil || rq.Event.Refund.AmountFen != tr.Refunds[0].AmountFen || rq.Event.Refund.Status != payrecon.RefundSuccess {
			t.Fatalf("%s refund query: %+v %v", c.name, rq, err)
		}
		if _, err := c.cl.QueryRefund(t.Context(), tr.OutTradeNo, "NO-SUCH-REFUND"); !errors.Is(err, provider.ErrNotFound) {
			t.Fatalf("%s missing refund: %v", c.name, err)
		}
	}
}

func TestClientsDownloadBill(t *testing.T) {
	_, d, _, ac, wc := serve(t, sandbox.ServerFaults{})
	want := map[payrecon.Provider]int{}
	for _, p := range []payrecon.Provider{payrecon.Alipay, payrecon.WeChatPay} {
		for range d.BillRows(p) {
			want[p]++
		}
	}
	var b bytes.Buffer
	if f, err := ac.DownloadBill(t.Context(), day, &b); err != nil || f != provider.AlipayZip {
		t.Fatalf("alipay download: %v", err)
	}
	n := 0
	if _, err := alipay.ParseBillZip(bytes.NewReader(b.Bytes()), int64(b.Len()), func(payrecon.BillEntry) error { n++; return nil }); err != nil || n != want[payrecon.Alipay] {
		t.Fatalf("alipay bill: %d rows, want %d, %v", n, want[payrecon.Alipay], err)
	}
	b.Reset()
	if f, err := wc.DownloadBill(t.Context(), day, &b); err != nil || f != provider.WeChatCSV {
		t.Fatalf("wechatpay download: %v", err)
	}
	n = 0
	if _, err := wechatpay.ParseBill(&b, func(payrecon.BillEntry) error { n++; return nil }); err != nil || n != want[payrecon.WeChatPay] {
		t.Fatalf("wechatpay bill: %d rows, want %d, %v", n, want[payrecon.WeChatPay], err)
	}
	// A day the provider has nothing for.
	other := day.AddDate(0, 0, -5)
	if _, err := wc.DownloadBill(t.Context(), other, &b); !errors.Is(err, provider.ErrNoBill) {
		t.Fatalf("wechatpay empty day: %v", err)
	}
	if _, err := ac.DownloadBill(t.Context(), other, &b); !errors.Is(err, provider.ErrBillNotReady) {
		t.Fatalf("alipay unknown day: %v", err)
	}
}

func TestClientsFaults(t *testing.T) {
	_, _, _, ac, wc := serve(t, sandbox.ServerFaults{BillNotReady: 1, Errors5xx: 1, BadHash: true})
	var b bytes.Buffer
	// First call of each provider: 5xx, retryable.
	if _, err := ac.QueryPayment(t.Context(), "x", ""); !provider.IsRetryable(err) {
		t.Fatalf("alipay 5xx: %v", err)
	}
	if _, err := wc.QueryPayment(t.Context(), "x", ""); !provider.IsRetryable(err) {
		t.Fatalf("wechatpay 5xx: %v", err)
	}
	if _, err := ac.DownloadBill(t.Context(), day, &b); !errors.Is(err, provider.ErrBillNotReady) {
		t.Fatalf("alipay not ready: %v", err)
	}
	if _, err := wc.DownloadBill(t.Context(), day, &b); !errors.Is(err, provider.ErrBillNotReady) {
		t.Fatalf("wechatpay not ready: %v", err)
	}
	if _, err := wc.DownloadBill(t.Context(), day, &b); !errors.Is(err, provider.ErrBadResponse) {
		t.Fatalf("wechatpay bad hash: %v", err)
	}
	// A client that trusts other keys rejects the (genuine) responses.
	other := providertest.Key(t, 0)
	ac.Keys = []alipay.Key{{Name: "wrong", Pub: &other.PublicKey}}
	if _, err := ac.QueryPayment(t.Context(), "x", ""); !errors.Is(err, provider.ErrBadResponse) {
		t.Fatalf("alipay wrong key: %v", err)
	}
	for k := range wc.Verifier.Keys {
		wc.Verifier.Keys[k] = &other.PublicKey
	}
	if _, err := wc.QueryPayment(t.Context(), "x", ""); !errors.Is(err, provider.ErrBadResponse) {
		t.Fatalf("wechatpay wrong key: %v", err)
	}
}

func TestGenerateSmallDayWithFaults(t *testing.T) {
	sb := sandboxtest.New(t)
	for _, n := range []int{1, 5, 19, 20} {
		d := sb.GenerateDay(day, sandbox.DayOptions{Trades: n, Faults: true})
		if len(d.Trades) != 2*max(n, 20) {
			t.Fatalf("trades=%d: %d trades", n, len(d.Trades))
		}
	}
}

func TestAlipayQueryTransfer(t *testing.T) {
	_, d, _, ac, _ := serve(t, sandbox.ServerFaults{})
	tr := d.Transfers[0]
	got, err := ac.QueryTransfer(t.Context(), tr.OutBizNo)
	if err != nil || got.Status != "SUCCESS" || got.AmountFen != tr.AmountFen || got.OrderID != tr.OrderID || !got.PaidAt.Equal(tr.PaidAt) {
		t.Fatalf("%+v %v", got, err)
	}
	var pe *provider.Error
	if _, err := ac.QueryTransfer(t.Context(), "NO-SUCH"); !errors.As(err, &pe) || pe.SubCode != "ORDER_NOT_EXIST" {
		t.Fatalf("missing transfer: %v", err)
	}
}

func TestClientsSlowServer(t *testing.T) {
	_, _, _, ac, wc := serve(t, sandbox.ServerFaults{Slow: 300 * time.Millisecond})
	ac.HTTP.Timeout, wc.HTTP.Timeout = 50*time.Millisecond, 50*time.Millisecond
	if _, err := ac.QueryPayment(t.Context(), "x", ""); !provider.IsRetryable(err) {
		t.Fatalf("alipay timeout: %v", err)
	}
	if _, err := wc.QueryPayment(t.Context(), "x", ""); !provider.IsRetryable(err) {
		t.Fatalf("wechatpay timeout: %v", err)
	}
}

// TestAlipayTradeClosed: like the real gateway, the emulator answers
// alipay.trade.query with TRADE_CLOSED both for a trade closed unpaid
// (no payment time) and for one paid and then fully refunded (with
// send_pay_date); the client reads the first as a close and the second as
// the payment it was.
func TestAlipayTradeClosed(t *testing.T) {
	_, d, _, ac, _ := serve(t, sandbox.ServerFaults{})
	var unpaid, refunded *sandbox.Trade
	for _, tr := range d.Trades {
		if tr.Provider != payrecon.Alipay || len(tr.Refunds) > 0 {
			continue
		}
		switch {
		case unpaid == nil:
			unpaid = tr
			unpaid.PaidAt = time.Time{}
		case refunded == nil:
			refunded = tr
			refunded.Refunds = []sandbox.Refund{{OutRefundNo: tr.OutTradeNo + "-R", AmountFen: tr.AmountFen, At: tr.PaidAt.Add(time.Hour)}}
		}
	}
	q, err := ac.QueryPayment(t.Context(), unpaid.OutTradeNo, "")
	if err != nil || q.State != "TRADE_CLOSED" || q.Event == nil || q.Event.Kind != payrecon.EventClose || q.Event.Status != payrecon.StatusClosed || !q.Event.PaidAt.IsZero() {
		t.Fatalf("closed unpaid: %+v %+v %v", q, q.Event, err)
	}
	q, err = ac.QueryPayment(t.Context(), refunded.OutTradeNo, "")
	if err != nil || q.State != "TRADE_CLOSED" || q.Event == nil || q.Event.Kind != payrecon.EventPayment || q.Event.Status != payrecon.StatusPaid ||
		!q.Event.PaidAt.Equal(refunded.PaidAt) || q.Event.AmountFen != refunded.AmountFen {
		t.Fatalf("paid, then fully refunded: %+v %+v %v", q, q.Event, err)
	}
	if rq, err := ac.QueryRefund(t.Context(), refunded.OutTradeNo, refunded.OutTradeNo+"-R"); err != nil || rq.Event.Refund.AmountFen != refunded.AmountFen {
		t.Fatalf("the full refund: %+v %v", rq, err)
	}
}

// TestWeChatResponseKeyFollowsSerial checks that the emulator signs its
// answers with the WeChat Pay public key when the request names it in
// Wechatpay-Serial, and with the platform certificate otherwise, so a
// client holding only the key it names verifies.
func TestWeChatResponseKeyFollowsSerial(t *testing.T) {
	f := sandboxtest.New(t)
	f.Serve(t, sandbox.ServerFaults{})
	_, wc := f.Clients(t)
	only := func(serial string) *wechatpay.Client {
		c := *wc
		v := *wc.Verifier
		v.Keys = map[string]*rsa.PublicKey{serial: wc.Verifier.Keys[serial]}
		c.Verifier = &v
		return &c
	}
	pub, platform := f.ID.WeChat.PublicKeyID, f.ID.WeChat.PlatformSerial
	for _, c := range []struct {
		name, sends, holds string
		ok                 bool
	}{
		{"public key named", pub, pub, true},
		{"nothing named", "", platform, true},
		{"platform named", platform, platform, true},
		{"nothing named, only the public key held", "", pub, false},
		{"unknown serial", "PUB_KEY_ID_0000", pub, false},
	} {
		cl := only(c.holds)
		cl.PublicKeyID = c.sends
		_, err := cl.QueryPayment(t.Context(), "NO-SUCH-ORDER", "")
		if got := errors.Is(err, provider.ErrNotFound); got != c.ok {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

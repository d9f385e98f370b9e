package jobs_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/store"
)

// TestDailyRecoversPaymentBeforeRefund: trades paid late in the evening
// and refunded after midnight, whose payment and refund callbacks were
// both dropped: reconciling the refund's day recovers the refund by query
// while the payment is not in the ledger (it is on the day before's
// bill). Per trade the outbox holds one payment.succeeded (source=query,
// derived from what the refund query carried) before one
// refund.succeeded.
func TestDailyRecoversPaymentBeforeRefund(t *testing.T) {
	var dropped []*sandbox.Trade
	e := setupDays(t, sandbox.ServerFaults{}, payrecon.ShanghaiFixed, func(sb *sandbox.Sandbox) []*sandbox.Day {
		d := sb.GenerateDay(day, sandbox.DayOptions{Trades: 20, Seed: 42})
		for _, tr := range d.Trades {
			if len(tr.Refunds) > 0 {
				tr.DropNotify, tr.Refunds[0].DropNotify = true, true
				tr.PaidAt = day.Add(-2 * time.Hour)
				tr.Created = tr.PaidAt.Add(-time.Minute)
				tr.Refunds[0].At = day.Add(time.Hour)
				dropped = append(dropped, tr)
			}
		}
		return []*sandbox.Day{d}
	})
	if err := e.db.SyncEndpoints(t.Context(), []payrecon.Endpoint{{Name: "app"}}); err != nil {
		t.Fatal(err)
	}
	for _, acct := range []string{e.sb.ID.Alipay.Account, e.sb.ID.WeChat.Account} {
		if _, err := e.daily.Run(t.Context(), acct, payrecon.DayOf(day), jobs.RunOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	evs, err := e.db.Events(t.Context(), store.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range dropped {
		checkStream(t, evs, tr.OutTradeNo)
	}
	if len(dropped) < 2 {
		t.Fatalf("%d trades with refunds: the test checks nothing", len(dropped))
	}
}

// checkStream: the trade's events are one payment.succeeded then one
// refund.succeeded, both learned by query.
func checkStream(t *testing.T, evs []payrecon.OutboxEvent, outTradeNo string) {
	t.Helper()
	var got []payrecon.AppEventType
	for _, ev := range evs {
		var d struct {
			OutTradeNo string `json:"out_trade_no"`
		}
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			t.Fatal(err)
		}
		if d.OutTradeNo != outTradeNo {
			continue
		}
		got = append(got, ev.Type)
		if ev.Source != payrecon.SourceQuery {
			t.Errorf("%s %s: source %s, want query", outTradeNo, ev.Type, ev.Source)
		}
	}
	if len(got) != 2 || got[0] != payrecon.PaymentSucceeded || got[1] != payrecon.RefundSucceeded {
		t.Errorf("%s: events %v, want [payment.succeeded refund.succeeded]", outTradeNo, got)
	}
}

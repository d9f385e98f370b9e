package jobs_test

import (
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/store"
)

// TestDailyRecoversFullyRefundedTrade (issue 9, bug 2): a trade paid and
// then fully refunded the same day, with both callbacks lost. Alipay's
// trade query answers TRADE_CLOSED for it, as for a trade closed unpaid,
// but with the payment time; the run recovers the payment and the refund
// instead of leaving the payment NEEDS_REVIEW. Expected items come from
// the day's fault list, as for every sandbox day.
func TestDailyRecoversFullyRefundedTrade(t *testing.T) {
	refunded := map[payrecon.Provider]*sandbox.Trade{}
	e := setupDays(t, sandbox.ServerFaults{}, payrecon.ShanghaiFixed, func(sb *sandbox.Sandbox) []*sandbox.Day {
		d := sb.GenerateDay(day, sandbox.DayOptions{Trades: 20, Seed: 42, Faults: true})
		n := map[payrecon.Provider]int{}
		for _, tr := range d.Trades {
			if n[tr.Provider]++; n[tr.Provider] == 11 { // index 10: no refund, no fault
				tr.Refunds = []sandbox.Refund{{OutRefundNo: tr.OutTradeNo + "-FULL", ProviderRefundNo: "5030FULL" + tr.OutTradeNo,
					AmountFen: tr.AmountFen, At: tr.PaidAt.Add(time.Hour), DropNotify: true}}
				tr.DropNotify = true
				refunded[tr.Provider] = tr
			}
		}
		return []*sandbox.Day{d}
	})
	for _, acct := range []string{e.sb.ID.Alipay.Account, e.sb.ID.WeChat.Account} {
		t.Run(acct, func(t *testing.T) {
			p := providerOf(e, acct)
			tr := refunded[p]
			if !tr.FullyRefunded() {
				t.Fatalf("%s is not fully refunded", tr.OutTradeNo)
			}
			want := expect(e.day, p)
			if w := want.items["payment|"+tr.OutTradeNo]; w.Resolution != payrecon.OutcomeRecovered {
				t.Fatalf("the fault list expects %+v for the refunded trade", w)
			}
			rep, err := e.daily.Run(t.Context(), acct, payrecon.DayOf(day), jobs.RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			checkItems(t, "run", rep.Discrepancies, want, rep.RunID, rep.RunID)
			ts, err := e.db.Trades(t.Context(), store.TradeFilter{Account: acct})
			if err != nil {
				t.Fatal(err)
			}
			for _, got := range ts {
				if got.OutTradeNo != tr.OutTradeNo {
					continue
				}
				if got.Status != payrecon.StatusRefunded || got.AmountFen != tr.AmountFen || got.RefundedFen != tr.AmountFen ||
					got.PaidAt == nil || !got.PaidAt.Equal(tr.PaidAt) || got.ReconState != payrecon.StateRecovered {
					t.Fatalf("ledger has %+v", got)
				}
				return
			}
			t.Fatalf("%s not in the ledger", tr.OutTradeNo)
		})
	}
}

package jobs_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/store"
)

// TestDailyCurrencyMismatch plays a sandbox day with trades in USD: a
// WeChat Pay one notified (the bill row says USD), a WeChat Pay one whose
// callback was dropped (the bill row says USD) and an Alipay one whose
// callback was dropped (Alipay's bill has no currency column; the query
// answer's trans_currency says USD). Each is a CURRENCY_MISMATCH for
// review: nothing is recovered from an amount in another currency, the
// ledger gains no trade, and 差异 lists them with their code.
func TestDailyCurrencyMismatch(t *testing.T) {
	usd := map[string]bool{}
	e := setupDays(t, sandbox.ServerFaults{}, payrecon.ShanghaiFixed, func(sb *sandbox.Sandbox) []*sandbox.Day {
		d := sb.GenerateDay(day, sandbox.DayOptions{Trades: 20, Seed: 42, Faults: true})
		var ali, wx []*sandbox.Trade
		for _, tr := range d.Trades {
			if len(tr.Refunds) > 0 || tr.PaidAt.Before(d.Date.Add(3600e9)) || tr.NotifyAmount != 0 || tr.TamperNotify || tr.DelayNotify || tr.DuplicateNotify {
				continue
			}
			if tr.Provider == payrecon.Alipay {
				ali = append(ali, tr)
			} else {
				wx = append(wx, tr)
			}
		}
		for _, tr := range []*sandbox.Trade{wx[0], wx[1], ali[0]} {
			tr.Currency = "USD"
			usd[tr.OutTradeNo] = true
		}
		wx[1].DropNotify, ali[0].DropNotify = true, true
		return []*sandbox.Day{d}
	})
	for _, acct := range []string{e.sb.ID.WeChat.Account, e.sb.ID.Alipay.Account} {
		rep, err := e.daily.Run(t.Context(), acct, payrecon.DayOf(day), jobs.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := 2
		if acct == e.sb.ID.Alipay.Account {
			want = 1
		}
		if rep.Counts[payrecon.CurrencyMismatch] != want {
			t.Errorf("%s: counts %v, want %d CURRENCY_MISMATCH", acct, rep.Counts, want)
		}
		for _, d := range rep.Discrepancies {
			if usd[d.OutTradeNo] && (d.Code != payrecon.CurrencyMismatch || d.Resolution != payrecon.OutcomeNeedsReview || d.Currency != "USD") {
				t.Errorf("%s %s: %s %s %q, want CURRENCY_MISMATCH NEEDS_REVIEW USD", acct, d.OutTradeNo, d.Code, d.Resolution, d.Currency)
			}
		}
		ts, err := e.db.Trades(t.Context(), store.TradeFilter{Account: acct})
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range ts {
			if usd[tr.OutTradeNo] && tr.Source != "notify" {
				t.Errorf("%s %s: in the ledger from %s: a USD answer was recovered as fen", acct, tr.OutTradeNo, tr.Source)
			}
			if usd[tr.OutTradeNo] && tr.ReconState != payrecon.StateNeedsReview {
				t.Errorf("%s %s: recon_state %s, want NEEDS_REVIEW", acct, tr.OutTradeNo, tr.ReconState)
			}
		}
		f, err := excelize.OpenFile(rep.Workbook)
		if err != nil {
			t.Fatal(err)
		}
		rows, _ := f.GetRows("差异")
		f.Close()
		n := 0
		for _, r := range rows {
			if slices.Contains(r, "CURRENCY_MISMATCH") {
				n++
				if !slices.Contains(r, "币种非人民币") || (!strings.Contains(strings.Join(r, "|"), "USD")) {
					t.Errorf("%s: 差异 row %q lacks the label or the currency", acct, r)
				}
			}
		}
		if n != want {
			t.Errorf("%s: 差异 lists %d CURRENCY_MISMATCH rows, want %d", acct, n, want)
		}
	}
}

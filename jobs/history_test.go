package jobs_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/provider"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// deafClient serves the real bill but answers every query "not found",
// and counts the queries: what a provider that forgot (or a network that
// fails) would say to a re-run.
type deafClient struct {
	provider.Client
	queries *int
}

func (c deafClient) QueryPayment(context.Context, string, string) (provider.Query, error) {
	*c.queries++
	return provider.Query{}, provider.ErrNotFound
}

func (c deafClient) QueryRefund(context.Context, string, string) (provider.Query, error) {
	*c.queries++
	return provider.Query{}, provider.ErrNotFound
}

// TestDailyRerunKeepsHistory (issue 9, bug 1): re-running a day reports
// the same discrepancies with the same resolutions, item by item; a
// recovered item stays RECOVERED with the run that recovered it, nothing
// is repaired (or audited) twice, and a provider that now answers "not
// found" downgrades nothing. Every trade and refund of the day carries
// the state its resolution gives it, set by the first run.
func TestDailyRerunKeepsHistory(t *testing.T) {
	e := setup(t, sandbox.ServerFaults{})
	for _, acct := range []string{e.sb.ID.Alipay.Account, e.sb.ID.WeChat.Account} {
		t.Run(acct, func(t *testing.T) {
			want := expect(e.day, providerOf(e, acct))
			rep1, err := e.daily.Run(t.Context(), acct, payrecon.DayOf(day), jobs.RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			checkItems(t, "first run", rep1.Discrepancies, want, rep1.RunID, rep1.RunID)
			checkStates(t, e.db, acct, want, rep1.RunID)
			audit1 := storetest.Must(e.db.Audit(t.Context(), acct))
			ledger1 := trades(t, e.db, acct)

			rep2, err := e.daily.Run(t.Context(), acct, payrecon.DayOf(day), jobs.RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			checkItems(t, "re-run", rep2.Discrepancies, want, rep1.RunID, rep2.RunID)
			if !equalCounts(rep2.Counts, want.counts) || !equalOutcomes(rep2.Outcomes, want.outcomes) {
				t.Fatalf("re-run counts %v outcomes %v, want %v %v", rep2.Counts, rep2.Outcomes, want.counts, want.outcomes)
			}
			checkWorkbookRecovered(t, rep2.Workbook, want.outcomes[payrecon.OutcomeRecovered], rep1.RunID)
			stored, err := e.db.Discrepancies(t.Context(), acct, payrecon.DayOf(day))
			if err != nil {
				t.Fatal(err)
			}
			checkItems(t, "stored after the re-run", stored, want, rep1.RunID, rep2.RunID)
			if audit2 := storetest.Must(e.db.Audit(t.Context(), acct)); len(audit2) != len(audit1) {
				t.Fatalf("the re-run repaired again: %d new audit rows", len(audit2)-len(audit1))
			}
			if got := trades(t, e.db, acct); got != ledger1 {
				t.Fatalf("the re-run changed the ledger:\n%s\n->\n%s", ledger1, got)
			}
			checkStates(t, e.db, acct, want, rep1.RunID)

			// The provider now answers nothing: settled items are not
			// asked about again, nor downgraded.
			var queries int
			a := e.daily.Accounts[acct]
			e.daily.Accounts[acct] = jobs.Account{Name: a.Name, Provider: a.Provider, Client: deafClient{Client: a.Client, queries: &queries}}
			t.Cleanup(func() { e.daily.Accounts[acct] = a })
			rep3, err := e.daily.Run(t.Context(), acct, payrecon.DayOf(day), jobs.RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			checkItems(t, "run against a deaf provider", rep3.Discrepancies, want, rep1.RunID, rep3.RunID)
			if unsettled := want.outcomes[payrecon.OutcomeNeedsReview] + want.outcomes[payrecon.OutcomePending]; queries != unsettled {
				t.Fatalf("%d queries, want %d (only the unsettled items)", queries, unsettled)
			}
			checkStates(t, e.db, acct, want, rep1.RunID)
		})
	}
}

// itemKey is how the tests name a trade or refund of a day.
func itemKey(d payrecon.Discrepancy) string {
	if d.Kind == payrecon.EntryRefund {
		return "refund|" + d.OutRefundNo
	}
	return "payment|" + d.OutTradeNo
}

// checkItems compares a run's discrepancies with want, item by item: the
// same items, codes and resolutions; a final resolution reached by
// settledBy, any other by thisRun.
func checkItems(t *testing.T, what string, ds []payrecon.Discrepancy, want expected, settledBy, thisRun int64) {
	t.Helper()
	seen := map[string]bool{}
	for _, d := range ds {
		k := itemKey(d)
		w, ok := want.items[k]
		if !ok || w.Code == payrecon.Matched {
			t.Errorf("%s: unexpected %s %s (%s)", what, d.Code, k, d.Resolution)
			continue
		}
		seen[k] = true
		run := thisRun
		if d.Resolution.IsFinal() {
			run = settledBy
		}
		if d.Resolution == "" {
			run = 0
		}
		if d.Code != w.Code || d.Resolution != w.Resolution || d.ResolvedRun != run {
			t.Errorf("%s: %s is %s/%s by run %d, want %s/%s by run %d", what, k, d.Code, d.Resolution, d.ResolvedRun, w.Code, w.Resolution, run)
		}
	}
	for k, w := range want.items {
		if w.Code != payrecon.Matched && !seen[k] {
			t.Errorf("%s: %s (%s/%s) missing", what, k, w.Code, w.Resolution)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// checkStates compares every trade's and refund's reconciliation state
// with the state its expected item gives it, set by run.
func checkStates(t *testing.T, db *store.DB, acct string, want expected, run int64) {
	t.Helper()
	got := map[string]string{}
	ts, err := db.Trades(t.Context(), store.TradeFilter{Account: acct})
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range ts {
		got["payment|"+tr.OutTradeNo] = fmt.Sprintf("%s by run %d", tr.ReconState, tr.ReconRun)
	}
	rs, err := db.Refunds(t.Context(), acct)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		got["refund|"+r.OutRefundNo] = fmt.Sprintf("%s by run %d", r.ReconState, r.ReconRun)
	}
	for k, w := range want.items {
		st := payrecon.StateOf(payrecon.Discrepancy{Code: w.Code, Resolution: w.Resolution})
		if g, ok := got[k]; ok || st != "" {
			if wantS := fmt.Sprintf("%s by run %d", st, run); g != wantS {
				t.Errorf("%s: %s, want %s", k, g, wantS)
			}
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// checkWorkbookRecovered: the workbook's 差异 sheet lists n RECOVERED rows,
// each resolved in run.
func checkWorkbookRecovered(t *testing.T, path string, n int, run int64) {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows("差异")
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for _, r := range rows[1:] {
		r = append(r, make([]string, 15)...)
		if r[13] == string(payrecon.OutcomeRecovered) { // the resolution's code column
			if r[10] != "已补单" {
				t.Fatalf("差异 row %q: resolution shown as %q, want 已补单", r[:15], r[10])
			}
			got++
			if r[11] != fmt.Sprint(run) {
				t.Fatalf("差异 row %q: resolved in run %q, want %d", r[:15], r[11], run)
			}
		}
	}
	if got != n {
		t.Fatalf("差异 lists %d RECOVERED rows, want %d", got, n)
	}
}

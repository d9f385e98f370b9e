package review_test

import (
	"errors"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/provider/sandbox/sandboxtest"
	"github.com/payrecon/payrecon/review"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// setup is a ledger holding a paid Alipay trade of the emulator 1.00
// short (NEEDS_REVIEW) and a ghost the emulator never had (CONFIRMED_ABSENT).
func setup(t *testing.T, interval time.Duration) (*review.Service, *store.DB, *sandbox.Trade) {
	t.Helper()
	fx := sandboxtest.New(t)
	day := fx.Sandbox.GenerateDay(time.Date(2026, 11, 20, 0, 0, 0, 0, payrecon.ShanghaiFixed), sandbox.DayOptions{Trades: 6, Seed: 3})
	var tr *sandbox.Trade
	for _, x := range day.Trades {
		if x.Provider == payrecon.Alipay && !x.PaidAt.IsZero() && len(x.Refunds) == 0 && x.AmountFen > 200 {
			tr = x
			break
		}
	}
	fx.Serve(t, sandbox.ServerFaults{}, day)
	ali, _ := fx.Clients(t)
	db := storetest.MustOpen(t, store.Options{})
	n := storetest.Pay("p1", tr.OutTradeNo, tr.AmountFen-100)
	n.Event.ProviderTradeNo = tr.ProviderTradeNo
	storetest.Record(t, db, n)
	storetest.Record(t, db, storetest.Pay("p2", "GHOST1", 500))
	d := payrecon.DayOf(day.Date)
	run := storetest.Must(db.StartRun(t.Context(), "ali", d, "cli"))
	ds := []payrecon.Discrepancy{{Code: payrecon.AmountMismatch, Kind: payrecon.EntryPayment, OutTradeNo: tr.OutTradeNo, ProviderTradeNo: tr.ProviderTradeNo,
		BillFen: tr.AmountFen, LedgerFen: tr.AmountFen - 100, HasBill: true, HasLedger: true, Resolution: payrecon.OutcomeNeedsReview},
		{Code: payrecon.MissingChannel, Kind: payrecon.EntryPayment, OutTradeNo: "GHOST1", LedgerFen: 500, HasLedger: true, Resolution: payrecon.OutcomeConfirmedAbsent}}
	if err := db.SaveReconciliation(t.Context(), run, "ali", d, ds, nil); err != nil {
		t.Fatal(err)
	}
	return &review.Service{DB: db, Accounts: map[string]review.Account{"ali": {Provider: payrecon.Alipay, Query: ali}}, WriteOffMaxFen: 100,
		Interval: interval}, db, tr
}

func itemOf(t *testing.T, s *review.Service, out string) payrecon.ReviewItem {
	t.Helper()
	for _, it := range storetest.Must(s.List(t.Context(), review.Filter{})) {
		if it.OutTradeNo == out {
			return it
		}
	}
	t.Fatalf("no open item %s", out)
	return payrecon.ReviewItem{}
}

// TestConfirmationToken: a money-changing resolution without the
// preview's token, or with another's, changes nothing; with it, it applies.
func TestConfirmationToken(t *testing.T) {
	s, db, tr := setup(t, 0)
	it := itemOf(t, s, tr.OutTradeNo)
	req := review.Request{ItemID: it.ID, Action: payrecon.AcceptProvider, Operator: "li", Remark: "bill is right"}
	p := storetest.Must(s.Preview(t.Context(), req))
	if !p.NeedsConfirm || p.Token == "" || len(p.Changes) != 2 {
		t.Fatalf("preview: %+v", p)
	}
	wo := storetest.Must(s.Preview(t.Context(), review.Request{ItemID: it.ID, Action: payrecon.WriteOff, Operator: "li", Remark: "r"}))
	for _, tok := range []string{"", wo.Token} {
		if _, err := s.Resolve(t.Context(), req, tok); !errors.Is(err, payrecon.ErrNeedsConfirmation) {
			t.Fatalf("token %q: %v", tok, err)
		}
	}
	if got := storetest.Trade(t, db, tr.OutTradeNo); got.AmountFen != tr.AmountFen-100 {
		t.Fatalf("an unconfirmed resolution changed the amount to %s", got.AmountFen)
	}
	if _, err := s.Resolve(t.Context(), req, p.Token); err != nil {
		t.Fatal(err)
	}
	if got := storetest.Trade(t, db, tr.OutTradeNo); got.AmountFen != tr.AmountFen || got.ReconState != payrecon.StateResolvedManually {
		t.Fatalf("resolved: %+v", got)
	}
}

// TestWriteOffTolerance: a write-off above review.write_off_max_fen is
// refused; at it, it settles the item with the difference recorded and
// the ledger's amount unchanged.
func TestWriteOffTolerance(t *testing.T) {
	s, db, tr := setup(t, 0)
	it := itemOf(t, s, tr.OutTradeNo)
	req := review.Request{ItemID: it.ID, Action: payrecon.WriteOff, Operator: "li", Remark: "rounding at the till"}
	s.WriteOffMaxFen = 99
	if _, err := s.Preview(t.Context(), req); !errors.Is(err, payrecon.ErrBadReview) {
		t.Fatalf("1.00 over a 0.99 tolerance: %v", err)
	}
	s.WriteOffMaxFen = 100
	p := storetest.Must(s.Preview(t.Context(), req))
	if _, err := s.Resolve(t.Context(), req, p.Token); err != nil {
		t.Fatal(err)
	}
	audit := storetest.Must(db.AuditOf(t.Context(), "ali", "trade:"+tr.OutTradeNo))
	if len(audit) != 2 || audit[0].Field != "write_off_fen" || audit[0].NewValue != "100" || storetest.Trade(t, db, tr.OutTradeNo).AmountFen != tr.AmountFen-100 {
		t.Fatalf("write-off audit %+v", audit)
	}
	ghost := itemOf(t, s, "GHOST1")
	if _, err := s.Preview(t.Context(), review.Request{ItemID: ghost.ID, Action: payrecon.WriteOff, Operator: "li", Remark: "r"}); !errors.Is(err, payrecon.ErrBadReview) {
		t.Fatalf("a write-off of an item without two sides: %v", err)
	}
}

// TestAcceptProviderWithoutRecord: the provider has no record of a ghost,
// so its record cannot be accepted; accepting the ledger's settles it.
func TestAcceptProviderWithoutRecord(t *testing.T) {
	s, db, _ := setup(t, 0)
	ghost := itemOf(t, s, "GHOST1")
	if _, err := s.Resolve(t.Context(), review.Request{ItemID: ghost.ID, Action: payrecon.AcceptProvider, Operator: "li", Remark: "r"}, ""); !errors.Is(err, payrecon.ErrBadReview) {
		t.Fatalf("accept a record the provider does not have: %v", err)
	}
	p, err := s.Resolve(t.Context(), review.Request{ItemID: ghost.ID, Action: payrecon.AcceptLedger, Operator: "li", Remark: "paid in cash, provider error"}, "")
	if err != nil || p.NeedsConfirm {
		t.Fatalf("accept-ledger: %+v %v", p, err)
	}
	if got := storetest.Trade(t, db, "GHOST1"); got.ReconState != payrecon.StateResolvedManually {
		t.Fatalf("ghost: %s", got.ReconState)
	}
	if answer := storetest.Must(s.Requery(t.Context(), ghost.ID, "li")); answer == "" || answer[:9] != "not found" {
		t.Fatalf("requery of the ghost: %q", answer)
	}
}

// TestQueriesRateLimited: queries asked again are spaced by Interval.
func TestQueriesRateLimited(t *testing.T) {
	s, _, tr := setup(t, 300*time.Millisecond)
	it := itemOf(t, s, tr.OutTradeNo)
	start := time.Now()
	for range 3 {
		storetest.Must(s.Requery(t.Context(), it.ID, "li"))
	}
	if el := time.Since(start); el < 600*time.Millisecond {
		t.Fatalf("3 queries in %s: not spaced by 300ms", el)
	}
	d := storetest.Must(s.Show(t.Context(), it.ID))
	if len(d.Queries) != 3 || !d.Open || len(d.Notifications) != 1 || d.Notifications[0].Body == "" {
		t.Fatalf("show: %+v", d)
	}
}

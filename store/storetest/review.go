package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/store"
)

// Review is the ledger as the manual review (payrecon review, the
// console) uses it.
type Review interface {
	OpenItems(ctx context.Context, f store.ItemFilter) ([]payrecon.ReviewItem, error)
	Item(ctx context.Context, id int64) (payrecon.ReviewItem, error)
	SetItemQuery(ctx context.Context, id int64, operator, result string) error
	QueriesOf(ctx context.Context, account, object string) ([]store.ItemQuery, error)
	ResolveItem(ctx context.Context, r payrecon.ManualResolution, preview bool) ([]payrecon.Change, error)
	NotificationsFor(ctx context.Context, account, outTradeNo string) ([]store.StoredNotification, error)
	AuditOf(ctx context.Context, account, object string) ([]payrecon.AuditEntry, error)
}

// reviewDay stores one run of day with ds and the marks they set, and
// returns the open items of the account.
func reviewDay(t *testing.T, db Ledger, day payrecon.Day, ds ...payrecon.Discrepancy) {
	t.Helper()
	id := Must(db.StartRun(t.Context(), "ali", day, "cli"))
	var marks []payrecon.ReconMark
	for _, d := range ds {
		if m, ok := payrecon.MarkOf(d); ok {
			marks = append(marks, m)
		}
	}
	if err := db.SaveReconciliation(t.Context(), id, "ali", day, ds, marks); err != nil {
		t.Fatal(err)
	}
}

func mismatch(out string, bill, ledger payrecon.Fen, o payrecon.Outcome) payrecon.Discrepancy {
	return payrecon.Discrepancy{Code: payrecon.AmountMismatch, Kind: payrecon.EntryPayment, OutTradeNo: out, BillFen: bill, LedgerFen: ledger,
		HasBill: true, HasLedger: true, LedgerStatus: "PAID", Resolution: o}
}

func orderNos(items []payrecon.ReviewItem) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.OrderNo())
	}
	return out
}

// testReviewOpenItems: NEEDS_REVIEW, CONFIRMED_ABSENT and PENDING past
// its hold are open, oldest day first and the largest at stake first; a
// trade a later run settled is not; the filters select.
func testReviewOpenItems(t *testing.T, db Ledger) {
	Record(t, db, Pay("p1", "R1", 100))
	Record(t, db, Pay("p2", "R2", 100))
	Record(t, db, Pay("p3", "R3", 100))
	Record(t, db, Pay("p4", "R4", 100))
	Record(t, db, Pay("p5", "R5", 100))
	Record(t, db, Pay("p6", "R6", 100))
	prev := Day.AddDays(-1)
	reviewDay(t, db, prev, mismatch("R5", 300, 100, payrecon.OutcomePending))
	reviewDay(t, db, Day, mismatch("R1", 101, 100, payrecon.OutcomeNeedsReview), mismatch("R2", 900, 100, payrecon.OutcomeNeedsReview),
		payrecon.Discrepancy{Code: payrecon.MissingChannel, Kind: payrecon.EntryPayment, OutTradeNo: "R3", LedgerFen: 100, HasLedger: true,
			Resolution: payrecon.OutcomeConfirmedAbsent},
		mismatch("R4", 150, 100, payrecon.OutcomePending), mismatch("R6", 140, 100, payrecon.OutcomeAmountMismatch),
		payrecon.Discrepancy{Code: payrecon.Matched, Kind: payrecon.EntryPayment, OutTradeNo: "R9", HasBill: true, HasLedger: true})
	got := Must(db.OpenItems(t.Context(), store.ItemFilter{Account: "ali", PendingBefore: Day}))
	if want := []string{"R5", "R2", "R3", "R6", "R1"}; !slices.Equal(orderNos(got), want) {
		t.Fatalf("open items %v, want %v (oldest day, then largest at stake; R4 is within its hold)", orderNos(got), want)
	}
	if got := Must(db.OpenItems(t.Context(), store.ItemFilter{})); !slices.Equal(orderNos(got), []string{"R2", "R3", "R6", "R1"}) {
		t.Fatalf("without PendingBefore, PENDING is not open: %v", orderNos(got))
	}
	if got := Must(db.OpenItems(t.Context(), store.ItemFilter{Code: payrecon.MissingChannel, Day: Day})); !slices.Equal(orderNos(got), []string{"R3"}) {
		t.Fatalf("code filter: %v", orderNos(got))
	}
	if got := Must(db.OpenItems(t.Context(), store.ItemFilter{Account: "other"})); len(got) != 0 {
		t.Fatalf("account filter: %v", orderNos(got))
	}
	// A later run matched R1: it is no longer open.
	reviewDay(t, db, Day.AddDays(1), payrecon.Discrepancy{Code: payrecon.Matched, Kind: payrecon.EntryPayment, OutTradeNo: "R1", HasBill: true, HasLedger: true})
	review := Must(db.OpenItems(t.Context(), store.ItemFilter{State: payrecon.OutcomeNeedsReview}))
	if !slices.Equal(orderNos(review), []string{"R2"}) {
		t.Fatalf("after R1 matched, NEEDS_REVIEW items: %v", orderNos(review))
	}
	it := Must(db.Item(t.Context(), review[0].ID))
	if it.OutTradeNo != "R2" || it.Account != "ali" || it.Day != Day || it.LedgerState != payrecon.StateNeedsReview || it.AtStake() != 800 {
		t.Fatalf("item: %+v", it)
	}
	if _, err := db.Item(t.Context(), 99999); !errors.Is(err, payrecon.ErrNotFound) {
		t.Fatalf("missing item: %v", err)
	}
	if err := db.SetItemQuery(t.Context(), it.ID, "li", "again: 900"); err != nil || Must(db.Item(t.Context(), it.ID)).QueryResult != "again: 900" {
		t.Fatalf("set item query: %v", err)
	}
	if err := db.SetItemQuery(t.Context(), it.ID, "wang", "again: 901"); err != nil {
		t.Fatal(err)
	}
	qs := Must(db.QueriesOf(t.Context(), "ali", "trade:R2"))
	if len(qs) != 2 || qs[0].Operator != "li" || qs[0].Answer != "again: 900" || qs[1].Answer != "again: 901" || qs[1].At.IsZero() {
		t.Fatalf("query history: %+v", qs)
	}
	if err := db.SetItemQuery(t.Context(), 99999, "li", "x"); !errors.Is(err, payrecon.ErrNotFound) {
		t.Fatalf("query on a missing item: %v", err)
	}
}

func resolution(id int64, a payrecon.ReviewAction) payrecon.ManualResolution {
	return payrecon.ManualResolution{ItemID: id, Provider: payrecon.Alipay, Action: a, Operator: "li", Remark: "checked with the provider"}
}

// testReviewAcceptProvider: a preview changes nothing and says what would
// change; the resolution takes the provider's amount, with an audit row
// per field naming the operator and remark, one payment.corrected event,
// and RESOLVED_MANUALLY, which no re-run downgrades; twice is refused.
func testReviewAcceptProvider(t *testing.T, db Ledger) {
	syncApp(t, db, "ali")
	Record(t, db, Pay("p1", "M1", 100))
	reviewDay(t, db, Day, mismatch("M1", 120, 100, payrecon.OutcomeNeedsReview))
	item := Must(db.OpenItems(t.Context(), store.ItemFilter{}))[0]
	r := resolution(item.ID, payrecon.AcceptProvider)
	r.Event = &payrecon.Event{Kind: payrecon.EventPayment, OutTradeNo: "M1", Status: payrecon.StatusPaid, AmountFen: 120, HasAmount: true}
	r.Evidence = "TRADE_SUCCESS total_amount=1.20"
	eventsBefore := len(Events(t, db))
	preview := Must(db.ResolveItem(t.Context(), r, true))
	want := []payrecon.Change{{Object: "trade:M1", Field: "amount_fen", Old: "100", New: "120"},
		{Object: "trade:M1", Field: "recon_state", Old: "NEEDS_REVIEW", New: "RESOLVED_MANUALLY"}}
	if !slices.Equal(preview, want) || !payrecon.ChangesMoney(preview) {
		t.Fatalf("preview %+v, want %+v", preview, want)
	}
	if tr := Trade(t, db, "M1"); tr.AmountFen != 100 || tr.ReconState != payrecon.StateNeedsReview || len(Must(db.AuditOf(t.Context(), "ali", "trade:M1"))) != 0 {
		t.Fatalf("a preview changed the ledger: %+v", tr)
	}
	if got := Must(db.ResolveItem(t.Context(), r, false)); !slices.Equal(got, want) {
		t.Fatalf("resolution %+v, want the preview's %+v", got, want)
	}
	if tr := Trade(t, db, "M1"); tr.AmountFen != 120 || tr.ReconState != payrecon.StateResolvedManually {
		t.Fatalf("resolved trade: %+v", tr)
	}
	audit := Must(db.AuditOf(t.Context(), "ali", "trade:M1"))
	if len(audit) != 2 || audit[0].Operator != "li" || audit[0].Remark != "checked with the provider" || audit[0].Field != "amount_fen" ||
		audit[0].Evidence != r.Evidence || audit[1].NewValue != "RESOLVED_MANUALLY" {
		t.Fatalf("audit: %+v", audit)
	}
	evs := Events(t, db)
	if len(evs) != eventsBefore+1 || evs[len(evs)-1].Type != payrecon.PaymentCorrected {
		t.Fatalf("events after the resolution: %v", types(evs))
	}
	if _, err := db.ResolveItem(t.Context(), r, false); !errors.Is(err, payrecon.ErrNotOpen) {
		t.Fatalf("second resolution: %v", err)
	}
	if len(Must(db.OpenItems(t.Context(), store.ItemFilter{}))) != 0 {
		t.Fatal("a resolved item is still open")
	}
	for _, rerun := range []payrecon.Discrepancy{mismatch("M1", 120, 100, payrecon.OutcomeNeedsReview),
		{Code: payrecon.Matched, Kind: payrecon.EntryPayment, OutTradeNo: "M1", HasBill: true, HasLedger: true},
		{Code: payrecon.MissingChannel, Kind: payrecon.EntryPayment, OutTradeNo: "M1", HasLedger: true, Resolution: payrecon.OutcomeConfirmedAbsent},
		{Code: payrecon.MissingLocal, Kind: payrecon.EntryPayment, OutTradeNo: "M1", HasBill: true, Resolution: payrecon.OutcomeRecovered}} {
		reviewDay(t, db, Day, rerun)
		if tr := Trade(t, db, "M1"); tr.ReconState != payrecon.StateResolvedManually {
			t.Fatalf("a re-run (%s %s) changed RESOLVED_MANUALLY to %s", rerun.Code, rerun.Resolution, tr.ReconState)
		}
	}
}

// testReviewAcceptLedgerAndWriteOff: neither changes the ledger's money;
// a resolution without a remark or operator is refused and changes
// nothing.
func testReviewAcceptLedgerAndWriteOff(t *testing.T, db Ledger) {
	Record(t, db, Pay("p1", "L1", 100))
	Record(t, db, Pay("p2", "L2", 100))
	reviewDay(t, db, Day, mismatch("L1", 120, 100, payrecon.OutcomeNeedsReview), mismatch("L2", 101, 100, payrecon.OutcomeNeedsReview))
	items := Must(db.OpenItems(t.Context(), store.ItemFilter{}))
	bad := resolution(items[0].ID, payrecon.AcceptLedger)
	bad.Remark = " "
	if _, err := db.ResolveItem(t.Context(), bad, false); !errors.Is(err, payrecon.ErrBadReview) {
		t.Fatalf("no remark: %v", err)
	}
	bad = resolution(items[0].ID, payrecon.AcceptLedger)
	bad.Operator = ""
	if _, err := db.ResolveItem(t.Context(), bad, false); !errors.Is(err, payrecon.ErrBadReview) {
		t.Fatalf("no operator: %v", err)
	}
	if len(Must(db.OpenItems(t.Context(), store.ItemFilter{}))) != 2 {
		t.Fatal("a refused resolution settled an item")
	}
	got := Must(db.ResolveItem(t.Context(), resolution(items[0].ID, payrecon.AcceptLedger), false))
	if payrecon.ChangesMoney(got) || len(got) != 1 {
		t.Fatalf("accept-ledger changes: %+v", got)
	}
	wo := resolution(items[1].ID, payrecon.WriteOff)
	wo.WriteOffFen = 1
	got = Must(db.ResolveItem(t.Context(), wo, false))
	if !payrecon.ChangesMoney(got) || got[0].Field != "write_off_fen" || got[0].New != "1" {
		t.Fatalf("write-off changes: %+v", got)
	}
	for _, out := range []string{"L1", "L2"} {
		if tr := Trade(t, db, out); tr.AmountFen != 100 || tr.ReconState != payrecon.StateResolvedManually {
			t.Fatalf("%s: %+v", out, tr)
		}
	}
}

package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/store"
)

// Ledger is the ledger as the rest of payrecon uses it. Every backend
// (SQLite today) must pass [TestLedger] unchanged.
type Ledger interface {
	RecordNotification(ctx context.Context, raw payrecon.RawNotification, n *payrecon.Notification) (payrecon.Recorded, error)
	Quarantine(ctx context.Context, r payrecon.Rejected) error
	Trades(ctx context.Context, f store.TradeFilter) ([]payrecon.Trade, error)
	Refunds(ctx context.Context, account string) ([]payrecon.RefundRecord, error)
	Count(ctx context.Context) (store.Counts, error)
	LedgerEvents(ctx context.Context, account, outTradeNo string) ([]store.LedgerEvent, error)
	ApplyQuery(ctx context.Context, r payrecon.Repair, ev *payrecon.Event) (bool, error)
	Audit(ctx context.Context, account string) ([]payrecon.AuditEntry, error)
	StartRun(ctx context.Context, account string, day payrecon.Day, trigger string) (int64, error)
	FinishRun(ctx context.Context, id, billID int64, counts map[payrecon.Code]int, workbook string, runErr error) error
	Runs(ctx context.Context, limit int) ([]payrecon.Run, error)
	SaveReconciliation(ctx context.Context, runID int64, account string, day payrecon.Day, ds []payrecon.Discrepancy, marks []payrecon.ReconMark) error
	Discrepancies(ctx context.Context, account string, day payrecon.Day) ([]payrecon.Discrepancy, error)
	RecordBill(ctx context.Context, b payrecon.Bill) (int64, error)
	LatestBill(ctx context.Context, account string, day payrecon.Day) (payrecon.Bill, error)
	Delivered(ctx context.Context, channel, key string, since time.Time) (bool, error)
	RecordDelivery(ctx context.Context, channel, key string, attempts int, sendErr error) error
	RegisterOrders(ctx context.Context, orders ...payrecon.ExpectedOrder) (int, error)
	DueOrders(ctx context.Context, now time.Time, limit int) ([]payrecon.ExpectedOrder, error)
	UpdateOrder(ctx context.Context, account, outTradeNo string, status payrecon.OrderStatus, next time.Time, result string) error
	Orders(ctx context.Context, account string, from, to time.Time) ([]payrecon.ExpectedOrder, error)
	StartJob(ctx context.Context, job, account string, day payrecon.Day, trigger string) (int64, error)
	FinishJob(ctx context.Context, id int64, runErr error) error
	SucceededDays(ctx context.Context, job, account string) (map[payrecon.Day]bool, error)
	CallbackHealth(ctx context.Context, account string, from, to time.Time) (payrecon.CallbackHealth, []payrecon.HourHealth, error)
	Outbox
	GoLiveLease
	DeadLeases
	TakenOverRuns
	QuarantineReader
	Review
	Sessions
}

// T0 is the instant the suite's facts happen: 2026-11-20 10:00 Beijing time.
var T0 = time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)

// Day is T0's bill day.
var Day = payrecon.DayOf(T0)

// TestLedger runs every ledger behaviour the product relies on against
// fresh ledgers from open.
func TestLedger(t *testing.T, open func(t *testing.T) Ledger) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, db Ledger)
	}{
		{"IdempotentRecord", testIdempotentRecord},
		{"ConcurrentDeliveries", testConcurrentDeliveries},
		{"ForwardOnlyStatus", testForwardOnlyStatus},
		{"RefundStatusTerminal", testRefundStatusTerminal},
		{"RefundsBeforePayment", testRefundsBeforePayment},
		{"AuditedRepairOnce", testAuditedRepairOnce},
		{"RunRecords", testRunRecords},
		{"DiscrepancyReplacement", testDiscrepancyReplacement},
		{"ReconStateOnlyRises", testReconStateOnlyRises},
		{"ReconStateFilter", testReconStateFilter},
		{"Bills", testBills},
		{"DeliveriesDedup", testDeliveriesDedup},
		{"ExpectedOrders", testExpectedOrders},
		{"JobRuns", testJobRuns},
		{"CallbackHealth", testCallbackHealth},
		{"QuarantineLeavesLedger", testQuarantine},
		{"QuarantineListAndReasons", testQuarantineList},
		{"EventOnePerFact", testEventOnePerFact},
		{"EventPaymentBeforeRefund", testEventPaymentBeforeRefund},
		{"EventQueriedRefundFirst", testEventQueriedRefundFirst},
		{"EventRefundFailed", testEventRefundFailed},
		{"EventClosedAndTransfer", testEventClosedAndTransfer},
		{"EventDisputeOnce", testEventDisputeOnce},
		{"OutboxStreamOrder", testOutboxStreamOrder},
		{"OutboxReplayAndDisable", testOutboxReplayAndDisable},
		{"EventsCursorConcurrent", testEventsCursorConcurrent},
		{"GoLiveFirstStart", testGoLiveFirstStart},
		{"BillSourceOutOfHealth", testBillSourceOutOfHealth},
		{"LeaseAcquireRelease", testLeaseAcquireRelease},
		{"LeaseConflict", testLeaseConflict},
		{"LeaseExpiryTakeover", testLeaseExpiryTakeover},
		{"ReleaseDeadLeases", testReleaseDeadLeases},
		{"TakenOverRunsMarked", testTakenOverRunsMarked},
		{"ReviewOpenItems", testReviewOpenItems},
		{"ReviewAcceptProvider", testReviewAcceptProvider},
		{"ReviewAcceptLedgerAndWriteOff", testReviewAcceptLedgerAndWriteOff},
		{"ConsoleSessions", testSessions},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// Pay is a verified Alipay payment notification of out for amt.
func Pay(key, out string, amt payrecon.Fen) *payrecon.Notification {
	return &payrecon.Notification{Account: "ali", Provider: payrecon.Alipay, Protocol: payrecon.ProtocolAlipay, DedupKey: key,
		EventType: "TRADE_SUCCESS", SignedBy: "test",
		Event: payrecon.Event{Kind: payrecon.EventPayment, Status: payrecon.StatusPaid, OutTradeNo: out,
			ProviderTradeNo: "T" + out, AmountFen: amt, HasAmount: true, PaidAt: T0}}
}

// AlipayRefund is an Alipay refund notification stating the running total
// refunded (closed: the trade is now fully refunded).
func AlipayRefund(key, out, refundNo string, total payrecon.Fen, closed bool, at time.Time) *payrecon.Notification {
	n := Pay(key, out, 1000)
	n.Event.Kind = payrecon.EventRefund
	n.Event.PaidAt = time.Time{}
	if closed {
		n.Event.Status = payrecon.StatusRefunded
	}
	n.Event.Refund = &payrecon.Refund{OutRefundNo: refundNo, TotalFen: total, Status: payrecon.RefundSuccess, RefundedAt: at}
	return n
}

// Record records n as received at T0 and fails the test on error.
func Record(t testing.TB, db Ledger, n *payrecon.Notification) payrecon.Recorded {
	t.Helper()
	rec, err := db.RecordNotification(context.Background(), payrecon.RawNotification{Body: []byte("body " + n.DedupKey), ReceivedAt: T0}, n)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// Trade returns the ledger's trade out of account "ali".
func Trade(t testing.TB, db Ledger, out string) payrecon.Trade {
	t.Helper()
	ts, err := db.Trades(context.Background(), store.TradeFilter{Account: "ali"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range ts {
		if tr.OutTradeNo == out {
			return tr
		}
	}
	t.Fatalf("trade %s not found", out)
	return payrecon.Trade{}
}

func count(t *testing.T, db Ledger) store.Counts {
	t.Helper()
	c, err := db.Count(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testIdempotentRecord(t *testing.T, db Ledger) {
	if rec := Record(t, db, Pay("k1", "o1", 100)); rec.Duplicate {
		t.Fatal("first delivery marked duplicate")
	}
	if rec := Record(t, db, Pay("k1", "o1", 100)); !rec.Duplicate {
		t.Fatal("second delivery not marked duplicate")
	}
	if c := count(t, db); c.Notifications != 1 || c.Deliveries != 2 || c.Trades != 1 {
		t.Fatalf("counts = %+v, want 1 notification delivered twice, 1 trade", c)
	}
	ev, err := db.LedgerEvents(t.Context(), "ali", "o1")
	if err != nil || len(ev) != 1 || ev[0].Source != string(payrecon.SourceNotify) || ev[0].StatusAfter != string(payrecon.StatusPaid) {
		t.Fatalf("events = %+v, %v; want exactly one, from the notification", ev, err)
	}
	if tr := Trade(t, db, "o1"); tr.Status != payrecon.StatusPaid || tr.AmountFen != 100 || tr.Source != payrecon.SourceNotify || tr.PaidAt == nil || !tr.PaidAt.Equal(T0) {
		t.Fatalf("trade %+v", tr)
	}
}

func testConcurrentDeliveries(t *testing.T, db Ledger) {
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each notification arrives twice, in parallel; odd trades also
			// get a stale "closed" in between.
			k := i / 2
			n := Pay(fmt.Sprint("k", k), fmt.Sprint("o", k), 1)
			if i%4 == 3 {
				n = Pay(fmt.Sprint("c", k), fmt.Sprint("o", k), 1)
				n.Event.Kind, n.Event.Status = payrecon.EventClose, payrecon.StatusClosed
			}
			_, err := db.RecordNotification(context.Background(), payrecon.RawNotification{ReceivedAt: T0}, n)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	c := count(t, db)
	if c.Deliveries != 100 || c.Trades != 50 {
		t.Fatalf("counts = %+v, want 100 deliveries of 50 trades", c)
	}
	ts := Must(db.Trades(t.Context(), store.TradeFilter{Account: "ali"}))
	for _, tr := range ts {
		if tr.Status != payrecon.StatusPaid {
			t.Fatalf("%s is %s after a paid notification: a stale close moved it back", tr.OutTradeNo, tr.Status)
		}
	}
}

func testForwardOnlyStatus(t *testing.T, db Ledger) {
	Record(t, db, Pay("p", "o1", 500))
	closed := Pay("c", "o1", 500)
	closed.Event.Kind, closed.Event.Status = payrecon.EventClose, payrecon.StatusClosed
	Record(t, db, closed)
	pending := Pay("w", "o1", 500)
	pending.Event.Kind, pending.Event.Status = payrecon.EventPending, payrecon.StatusPending
	Record(t, db, pending)
	if tr := Trade(t, db, "o1"); tr.Status != payrecon.StatusPaid {
		t.Fatalf("status = %s, want PAID", tr.Status)
	}
}

func testRefundStatusTerminal(t *testing.T, db Ledger) {
	mk := func(key string, st payrecon.RefundStatus) *payrecon.Notification {
		n := Pay(key, "o1", 1000)
		n.Provider, n.Event.Kind = payrecon.WeChatPay, payrecon.EventRefund
		n.Event.Refund = &payrecon.Refund{OutRefundNo: "R1", AmountFen: 1000, Status: st}
		return n
	}
	Record(t, db, mk("a", payrecon.RefundAbnormal))
	if tr := Trade(t, db, "o1"); tr.RefundedFen != 0 || tr.Status != payrecon.StatusPaid {
		t.Fatalf("abnormal counted: %+v", tr)
	}
	Record(t, db, mk("s", payrecon.RefundSuccess))
	Record(t, db, mk("a2", payrecon.RefundAbnormal)) // stale
	if tr := Trade(t, db, "o1"); tr.RefundedFen != 1000 || tr.Status != payrecon.StatusRefunded {
		t.Fatalf("after success: %+v", tr)
	}
}

func testRefundsBeforePayment(t *testing.T, db Ledger) {
	Record(t, db, AlipayRefund("r2", "o1", "R2", 700, false, T0.Add(2*time.Hour)))
	if tr := Trade(t, db, "o1"); tr.Status != payrecon.StatusPaid || tr.RefundedFen != 700 {
		t.Fatalf("after R2: %+v", tr)
	}
	Record(t, db, AlipayRefund("r1", "o1", "R1", 300, false, T0.Add(time.Hour)))
	Record(t, db, AlipayRefund("r3", "o1", "R3", 1000, true, T0.Add(3*time.Hour)))
	Record(t, db, Pay("p", "o1", 1000))
	tr := Trade(t, db, "o1")
	if tr.Status != payrecon.StatusRefunded || tr.RefundedFen != 1000 || tr.AmountFen != 1000 || tr.PaidAt == nil {
		t.Fatalf("final: %+v", tr)
	}
	rs, err := db.Refunds(t.Context(), "ali")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]payrecon.Fen{}
	for _, r := range rs {
		got[r.OutRefundNo] = r.AmountFen
		if r.OutTradeNo != "o1" || r.Status != payrecon.RefundSuccess || r.RefundedAt.IsZero() {
			t.Fatalf("refund %+v", r)
		}
	}
	if len(got) != 3 || got["R1"] != 300 || got["R2"] != 400 || got["R3"] != 300 {
		t.Fatalf("derived refund amounts = %v, want R1 300, R2 400, R3 300", got)
	}
}

func testAuditedRepairOnce(t *testing.T, db Ledger) {
	ev := &payrecon.Event{Kind: payrecon.EventPayment, Status: payrecon.StatusPaid, OutTradeNo: "Q1", ProviderTradeNo: "P1",
		AmountFen: 500, HasAmount: true, PaidAt: T0}
	r := payrecon.Repair{Account: "ali", Provider: payrecon.Alipay, Day: Day, RunID: 7, Reason: "MISSING_LOCAL recovered", Evidence: "alipay.trade.query TRADE_SUCCESS"}
	if changed, err := db.ApplyQuery(t.Context(), r, ev); err != nil || !changed {
		t.Fatalf("first apply: changed %v, %v", changed, err)
	}
	if tr := Trade(t, db, "Q1"); tr.Source != payrecon.SourceQuery || tr.Status != payrecon.StatusPaid || tr.AmountFen != 500 {
		t.Fatalf("trade %+v", tr)
	}
	a, err := db.Audit(t.Context(), "ali")
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]payrecon.AuditEntry{}
	for _, e := range a {
		fields[e.Field] = e
		if e.Object != "trade:Q1" || e.OldValue != "(absent)" || e.Reason != r.Reason || e.Evidence != r.Evidence || e.Day != Day || e.RunID != 7 || e.At.IsZero() {
			t.Fatalf("audit row %+v", e)
		}
	}
	if fields["status"].NewValue != "PAID" || fields["amount_fen"].NewValue != "500" {
		t.Fatalf("audit %+v", a)
	}
	if changed, err := db.ApplyQuery(t.Context(), r, ev); err != nil || changed {
		t.Fatalf("second apply: changed %v, %v", changed, err)
	}
	if a2 := Must(db.Audit(t.Context(), "ali")); len(a2) != len(a) {
		t.Fatalf("audit grew from %d to %d rows on a no-op repair", len(a), len(a2))
	}
	if ev := Must(db.LedgerEvents(t.Context(), "ali", "Q1")); len(ev) != 1 || ev[0].Source != "query" || ev[0].SourceRef != "query:run:7" {
		t.Fatalf("provenance after a repair and a no-op repair: %+v", ev)
	}
	Record(t, db, Pay("k", "Q1", 500)) // late notification: provenance, no change
	if tr := Trade(t, db, "Q1"); tr.Source != payrecon.SourceQuery {
		t.Fatalf("source changed to %s", tr.Source)
	}
	if ev := Must(db.LedgerEvents(t.Context(), "ali", "Q1")); len(ev) != 2 || ev[1].Source != "notify" || ev[1].StatusBefore != "PAID" {
		t.Fatalf("provenance after the late notification: %+v", ev)
	}
}

func testRunRecords(t *testing.T, db Ledger) {
	id, err := db.StartRun(t.Context(), "ali", Day, "cli")
	if err != nil {
		t.Fatal(err)
	}
	runs := Must(db.Runs(t.Context(), 10))
	if len(runs) != 1 || runs[0].Status != payrecon.RunRunning || !runs[0].FinishedAt.IsZero() || runs[0].Day != Day {
		t.Fatalf("running: %+v", runs)
	}
	counts := map[payrecon.Code]int{payrecon.Matched: 3, payrecon.MissingLocal: 1}
	if err := db.FinishRun(t.Context(), id, 0, counts, "/r/ali/2026-11-20.xlsx", nil); err != nil {
		t.Fatal(err)
	}
	id2 := Must(db.StartRun(t.Context(), "ali", Day, "cron"))
	if err := db.FinishRun(t.Context(), id2, 0, nil, "", errors.New("bill: not ready")); err != nil {
		t.Fatal(err)
	}
	runs, err = db.Runs(t.Context(), 10)
	if err != nil || len(runs) != 2 {
		t.Fatalf("runs %+v, %v", runs, err)
	}
	failed, ok := runs[0], runs[1]
	if failed.ID != id2 || failed.Status != payrecon.RunFailed || failed.Error != "bill: not ready" || failed.Trigger != "cron" {
		t.Fatalf("failed run %+v", failed)
	}
	if ok.Status != payrecon.RunOK || ok.Counts[payrecon.Matched] != 3 || ok.Counts[payrecon.MissingLocal] != 1 || ok.Workbook == "" ||
		ok.FinishedAt.Before(ok.StartedAt) || ok.Account != "ali" {
		t.Fatalf("ok run %+v", ok)
	}
}

func testDiscrepancyReplacement(t *testing.T, db Ledger) {
	first := []payrecon.Discrepancy{
		{Code: payrecon.MissingLocal, Kind: payrecon.EntryPayment, OutTradeNo: "X", BillFen: 100, HasBill: true, Resolution: payrecon.OutcomeRecovered, QueryResult: "TRADE_SUCCESS", ResolvedRun: 1},
		{Code: payrecon.MissingChannel, Kind: payrecon.EntryRefund, OutTradeNo: "Y", OutRefundNo: "RY", LedgerFen: 0, HasLedger: true, LedgerStatus: "SUCCESS", Resolution: payrecon.OutcomePending},
		{Code: payrecon.CrossDay, Kind: payrecon.EntryPayment, OutTradeNo: "W", BillFen: 7, HasBill: true, LedgerFen: 7, HasLedger: true},
	}
	second := []payrecon.Discrepancy{{Code: payrecon.AmountMismatch, Kind: payrecon.EntryPayment, OutTradeNo: "Z", BillFen: 5, HasBill: true, LedgerFen: 6, HasLedger: true, Note: "n"}}
	var last int64
	for _, ds := range [][]payrecon.Discrepancy{first, second, first} {
		id, err := db.StartRun(t.Context(), "ali", Day, "cli")
		if err != nil {
			t.Fatal(err)
		}
		if err := db.SaveReconciliation(t.Context(), id, "ali", Day, ds, nil); err != nil {
			t.Fatal(err)
		}
		last = id
	}
	got, err := db.Discrepancies(t.Context(), "ali", Day)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(first) {
		t.Fatalf("after three runs: %d rows, want the last run's %d", len(got), len(first))
	}
	want := slices.Clone(first)
	want[1].ResolvedRun = last // resolved, no run given: the saving run
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("row %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if other := Must(db.Discrepancies(t.Context(), "ali", Day.AddDays(1))); len(other) != 0 {
		t.Fatalf("another day has %d rows", len(other))
	}
}

// testReconStateOnlyRises: a trade or refund starts UNRECONCILED; a mark
// sets its state and run; a lower or equal state never replaces it (a
// re-run that now matches a recovered trade leaves it RECOVERED by the
// run that recovered it); a mark for what the ledger lacks changes
// nothing; an unknown state is refused whole.
func testReconStateOnlyRises(t *testing.T, db Ledger) {
	Record(t, db, Pay("p1", "S1", 100))
	Record(t, db, Pay("p2", "S2", 200))
	Record(t, db, AlipayRefund("r1", "S2", "S2-R1", 50, false, T0.Add(time.Hour)))
	if tr := Trade(t, db, "S1"); tr.ReconState != payrecon.StateUnreconciled || tr.ReconRun != 0 {
		t.Fatalf("fresh trade: %s by run %d", tr.ReconState, tr.ReconRun)
	}
	save := func(marks ...payrecon.ReconMark) int64 {
		t.Helper()
		id, err := db.StartRun(t.Context(), "ali", Day, "cli")
		if err != nil {
			t.Fatal(err)
		}
		if err := db.SaveReconciliation(t.Context(), id, "ali", Day, nil, marks); err != nil {
			t.Fatal(err)
		}
		return id
	}
	pay := func(out string, s payrecon.ReconState) payrecon.ReconMark {
		return payrecon.ReconMark{Kind: payrecon.EntryPayment, OutTradeNo: out, State: s}
	}
	refund := payrecon.ReconMark{Kind: payrecon.EntryRefund, OutTradeNo: "S2", OutRefundNo: "S2-R1", State: payrecon.StatePending}
	run1 := save(pay("S1", payrecon.StatePending), pay("S2", payrecon.StateRecovered), refund, pay("ABSENT", payrecon.StateMatched))
	run2 := save(pay("S1", payrecon.StateMatched), pay("S2", payrecon.StateMatched), pay("S2", payrecon.StateNeedsReview),
		payrecon.ReconMark{Kind: payrecon.EntryRefund, OutRefundNo: "S2-R1", State: payrecon.StateMatched})
	save(pay("S1", payrecon.StateMatched), pay("S1", payrecon.StatePending))
	want := map[string]struct {
		state payrecon.ReconState
		run   int64
	}{"S1": {payrecon.StateMatched, run2}, "S2": {payrecon.StateRecovered, run1}}
	for out, w := range want {
		if tr := Trade(t, db, out); tr.ReconState != w.state || tr.ReconRun != w.run {
			t.Fatalf("trade %s: %s by run %d, want %s by run %d", out, tr.ReconState, tr.ReconRun, w.state, w.run)
		}
	}
	rs, err := db.Refunds(t.Context(), "ali")
	if err != nil || len(rs) != 1 || rs[0].ReconState != payrecon.StateMatched || rs[0].ReconRun != run2 {
		t.Fatalf("refund: %+v, %v", rs, err)
	}
	if ts := Must(db.Trades(t.Context(), store.TradeFilter{Account: "ali"})); len(ts) != 2 {
		t.Fatalf("a mark for an absent trade created one: %+v", ts)
	}
	id := Must(db.StartRun(t.Context(), "ali", Day, "cli"))
	if err := db.SaveReconciliation(t.Context(), id, "ali", Day, nil, []payrecon.ReconMark{pay("S1", payrecon.StateConfirmedAbsent), pay("S2", "PAID")}); err == nil {
		t.Fatal("an unknown state was accepted")
	}
	if tr := Trade(t, db, "S1"); tr.ReconState != payrecon.StateMatched {
		t.Fatalf("a refused save changed S1 to %s", tr.ReconState)
	}
}

// testReconStateFilter: Trades selects by state; a denied trade keeps its
// PAID status and says CONFIRMED_ABSENT.
func testReconStateFilter(t *testing.T, db Ledger) {
	Record(t, db, Pay("p1", "G1", 6666))
	Record(t, db, Pay("p2", "M1", 100))
	Record(t, db, Pay("p3", "U1", 100)) // no run marks it
	id := Must(db.StartRun(t.Context(), "ali", Day, "cli"))
	if err := db.SaveReconciliation(t.Context(), id, "ali", Day, nil, []payrecon.ReconMark{
		{Kind: payrecon.EntryPayment, OutTradeNo: "G1", State: payrecon.StateConfirmedAbsent},
		{Kind: payrecon.EntryPayment, OutTradeNo: "M1", State: payrecon.StateMatched}}); err != nil {
		t.Fatal(err)
	}
	got, err := db.Trades(t.Context(), store.TradeFilter{Account: "ali", State: payrecon.StateConfirmedAbsent})
	if err != nil || len(got) != 1 || got[0].OutTradeNo != "G1" || got[0].Status != payrecon.StatusPaid || got[0].ReconRun != id {
		t.Fatalf("CONFIRMED_ABSENT trades: %+v, %v", got, err)
	}
	if got := Must(db.Trades(t.Context(), store.TradeFilter{State: payrecon.StateUnreconciled})); len(got) != 1 || got[0].OutTradeNo != "U1" {
		t.Fatalf("UNRECONCILED trades: %+v", got)
	}
}

func testBills(t *testing.T, db Ledger) {
	if _, err := db.LatestBill(t.Context(), "ali", Day); !errors.Is(err, payrecon.ErrNotFound) {
		t.Fatalf("no bill yet: %v, want ErrNotFound", err)
	}
	b := payrecon.Bill{Account: "ali", Day: Day, Format: payrecon.BillAlipayZip, Path: "/a/1.csv.zip", SHA256: "aa", Size: 10, Origin: "download"}
	id1, err := db.RecordBill(t.Context(), b)
	if err != nil {
		t.Fatal(err)
	}
	b.Path = "/a/2.csv.zip" // the same bytes again: one bill, newest path
	if id, err := db.RecordBill(t.Context(), b); err != nil || id != id1 {
		t.Fatalf("same bytes: id %d (first %d), %v", id, id1, err)
	}
	got, err := db.LatestBill(t.Context(), "ali", Day)
	if err != nil || got.ID != id1 || got.Path != b.Path || got.Format != payrecon.BillAlipayZip || got.Day != Day || got.FetchedAt.IsZero() {
		t.Fatalf("latest %+v, %v", got, err)
	}
	if _, err := db.LatestBill(t.Context(), "ali", Day.AddDays(1)); !errors.Is(err, payrecon.ErrNotFound) {
		t.Fatalf("other day: %v", err)
	}
}

func testDeliveriesDedup(t *testing.T, db Ledger) {
	since := T0.Add(-time.Hour)
	if sent, err := db.Delivered(t.Context(), "ops", "k", since); err != nil || sent {
		t.Fatalf("before: %v %v", sent, err)
	}
	if err := db.RecordDelivery(t.Context(), "ops", "k", 3, errors.New("robot down")); err != nil {
		t.Fatal(err)
	}
	if sent := Must(db.Delivered(t.Context(), "ops", "k", since)); sent {
		t.Fatal("a failed delivery counts as sent")
	}
	if err := db.RecordDelivery(t.Context(), "ops", "k", 1, nil); err != nil {
		t.Fatal(err)
	}
	if sent := Must(db.Delivered(t.Context(), "ops", "k", time.Time{})); !sent {
		t.Fatal("sent delivery not found")
	}
	if sent := Must(db.Delivered(t.Context(), "mail", "k", time.Time{})); sent {
		t.Fatal("dedup leaks across channels")
	}
	if sent := Must(db.Delivered(t.Context(), "ops", "k", time.Now().Add(time.Hour))); sent {
		t.Fatal("a delivery before the window counts")
	}
}

func testExpectedOrders(t *testing.T, db Ledger) {
	created := T0
	order := payrecon.ExpectedOrder{Account: "ali", OutTradeNo: "E1", AmountFen: 990, CreatedAt: created, NextCheckAt: created.Add(time.Minute)}
	if n, err := db.RegisterOrders(t.Context(), order); err != nil || n != 1 {
		t.Fatalf("register: %d new, %v", n, err)
	}
	again := order
	again.AmountFen, again.NextCheckAt = 1, created
	if n, err := db.RegisterOrders(t.Context(), again, payrecon.ExpectedOrder{Account: "ali", OutTradeNo: "E2", AmountFen: 5, CreatedAt: created.Add(-48 * time.Hour), NextCheckAt: created.Add(time.Hour)}); err != nil || n != 1 {
		t.Fatalf("re-register with a new order: %d new, %v; want 1", n, err)
	}
	if due := Must(db.DueOrders(t.Context(), created, 10)); len(due) != 0 {
		t.Fatalf("due before its first check: %+v", due)
	}
	due, err := db.DueOrders(t.Context(), created.Add(time.Minute), 10)
	if err != nil || len(due) != 1 || due[0].AmountFen != 990 || due[0].Status != payrecon.OrderWaiting || !due[0].CreatedAt.Equal(created) || due[0].LedgerStatus != "" {
		t.Fatalf("due %+v, %v", due, err)
	}
	Record(t, db, Pay("p", "E1", 990))
	if due := Must(db.DueOrders(t.Context(), created.Add(time.Minute), 10)); len(due) != 1 || due[0].LedgerStatus != payrecon.StatusPaid {
		t.Fatalf("due after payment %+v", due)
	}
	if err := db.UpdateOrder(t.Context(), "ali", "E1", payrecon.OrderPaid, created, "notified"); err != nil {
		t.Fatal(err)
	}
	if due := Must(db.DueOrders(t.Context(), created.Add(time.Hour), 10)); len(due) != 1 || due[0].OutTradeNo != "E2" {
		t.Fatalf("due an hour later: %+v; want only E2 (E1 is paid)", due)
	}
	os, err := db.Orders(t.Context(), "ali", Day.Start(), Day.End())
	if err != nil || len(os) != 1 || os[0].Status != payrecon.OrderPaid || os[0].Checks != 1 || os[0].LastResult != "notified" {
		t.Fatalf("orders %+v, %v", os, err)
	}
}

func testJobRuns(t *testing.T, db Ledger) {
	ok := Must(db.StartJob(t.Context(), "reconcile", "ali", Day, "cron"))
	if err := db.FinishJob(t.Context(), ok, nil); err != nil {
		t.Fatal(err)
	}
	bad := Must(db.StartJob(t.Context(), "reconcile", "ali", Day.AddDays(1), "cron"))
	if err := db.FinishJob(t.Context(), bad, errors.New("boom")); err != nil {
		t.Fatal(err)
	}
	days, err := db.SucceededDays(t.Context(), "reconcile", "ali")
	if err != nil || len(days) != 1 || !days[Day] {
		t.Fatalf("succeeded days %v, %v", days, err)
	}
}

func testCallbackHealth(t *testing.T, db Ledger) {
	Record(t, db, Pay("n1", "H1", 100))
	Record(t, db, Pay("n2", "H2", 100))
	ev := &payrecon.Event{Kind: payrecon.EventPayment, Status: payrecon.StatusPaid, OutTradeNo: "H3", AmountFen: 100, HasAmount: true, PaidAt: T0}
	if _, err := db.ApplyQuery(t.Context(), payrecon.Repair{Account: "ali", Provider: payrecon.Alipay, Day: Day, Reason: "r"}, ev); err != nil {
		t.Fatal(err)
	}
	h, hours, err := db.CallbackHealth(t.Context(), "ali", Day.Start(), Day.End())
	if err != nil {
		t.Fatal(err)
	}
	if h.Notify != 2 || h.Query != 1 || h.BillOnly != 0 || len(hours) != 24 {
		t.Fatalf("health %+v, %d hours", h, len(hours))
	}
	if hour := hours[T0.In(payrecon.ShanghaiFixed).Hour()]; hour.Notify != 2 || hour.Query != 1 {
		t.Fatalf("the hour of Beijing time 10:00 holds %+v", hour)
	}
}

func testQuarantine(t *testing.T, db Ledger) {
	if err := db.Quarantine(t.Context(), payrecon.Rejected{ReceivedAt: T0, Account: "ali", Reason: "bad_signature", Body: []byte("x"), BodySize: 1}); err != nil {
		t.Fatal(err)
	}
	if c := count(t, db); c.Quarantined != 1 || c.Trades != 0 || c.Notifications != 0 {
		t.Fatalf("counts = %+v", c)
	}
}

package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/store"
)

// Outbox is the ledger's transactional outbox of events for the merchant's
// app, as package forward and the events commands use it.
type Outbox interface {
	DisputeTrade(ctx context.Context, account, outTradeNo string) (bool, error)
	SyncEndpoints(ctx context.Context, eps []payrecon.Endpoint) error
	DueDeliveries(ctx context.Context, now time.Time, busy map[string]bool, limit int) ([]payrecon.Delivery, error)
	RecordAttempt(ctx context.Context, a payrecon.Attempt) error
	DisableEndpoint(ctx context.Context, name, reason string) error
	Replay(ctx context.Context, ids []string, since time.Time) (int, error)
	Events(ctx context.Context, f store.EventFilter) ([]payrecon.OutboxEvent, error)
	Outbox(ctx context.Context) (payrecon.OutboxStats, error)
}

// Events returns the outbox's events of account "ali" as (type, source)
// pairs with the trade or refund number, in order.
func Events(t testing.TB, db Ledger) []payrecon.OutboxEvent {
	t.Helper()
	evs, err := db.Events(context.Background(), store.EventFilter{Account: "ali"})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// wantTypes fails unless the events have exactly these types, in order.
func wantTypes(t *testing.T, evs []payrecon.OutboxEvent, want ...payrecon.AppEventType) {
	t.Helper()
	if len(evs) != len(want) {
		t.Fatalf("%d events %v, want %v", len(evs), types(evs), want)
	}
	for i := range want {
		if evs[i].Type != want[i] {
			t.Fatalf("events %v, want %v", types(evs), want)
		}
	}
}

func types(evs []payrecon.OutboxEvent) []payrecon.AppEventType {
	var out []payrecon.AppEventType
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

func syncApp(t *testing.T, db Ledger, accounts ...string) {
	t.Helper()
	if err := db.SyncEndpoints(t.Context(), []payrecon.Endpoint{{Name: "app", Accounts: accounts}}); err != nil {
		t.Fatal(err)
	}
}

// testEventOnePerFact: a redelivery, a second notification of the same
// fact and a late notification after a query recovery write no second
// event; the recovered one says source=query; the body is the contract.
func testEventOnePerFact(t *testing.T, db Ledger) {
	syncApp(t, db)
	Record(t, db, Pay("k1", "o1", 100))
	Record(t, db, Pay("k1", "o1", 100)) // provider retry
	Record(t, db, Pay("k2", "o1", 100)) // same fact, another notification
	r := payrecon.Repair{Account: "ali", Provider: payrecon.Alipay, Day: Day, RunID: 1, Reason: "recovered"}
	ev := Pay("-", "Q1", 500).Event
	if _, err := db.ApplyQuery(t.Context(), r, &ev); err != nil {
		t.Fatal(err)
	}
	Record(t, db, Pay("k3", "Q1", 500)) // the dropped callback, late
	if _, err := db.ApplyQuery(t.Context(), r, &ev); err != nil {
		t.Fatal(err)
	}
	evs := Events(t, db)
	wantTypes(t, evs, payrecon.PaymentSucceeded, payrecon.PaymentSucceeded)
	if evs[0].Source != payrecon.SourceNotify || evs[1].Source != payrecon.SourceQuery || evs[0].Status != payrecon.DeliveryPending {
		t.Fatalf("events %+v", evs)
	}
	var body map[string]any
	if err := json.Unmarshal(evs[1].Body, &body); err != nil {
		t.Fatal(err)
	}
	data, _ := body["data"].(map[string]any)
	if body["id"] != evs[1].ID || body["type"] != "payment.succeeded" || body["account"] != "ali" || body["provider"] != "alipay" ||
		body["source"] != "query" || body["created_at"] == nil || data["out_trade_no"] != "Q1" || data["amount_fen"] != 500.0 ||
		data["status"] != "PAID" || data["paid_at"] != "2026-11-20T10:00:00+08:00" {
		t.Fatalf("body %s", evs[1].Body)
	}
	if len(evs[0].ID) < 10 || evs[0].ID[:4] != "evt_" || evs[0].ID == evs[1].ID {
		t.Fatalf("ids %q %q", evs[0].ID, evs[1].ID)
	}
}

// testEventPaymentBeforeRefund: refunds that arrive before their payment
// write the payment event first, derived from the refund; the payment
// itself then writes nothing.
func testEventPaymentBeforeRefund(t *testing.T, db Ledger) {
	Record(t, db, AlipayRefund("r2", "o1", "R2", 700, false, T0.Add(2*time.Hour)))
	Record(t, db, AlipayRefund("r1", "o1", "R1", 300, false, T0.Add(time.Hour)))
	Record(t, db, AlipayRefund("r1", "o1", "R1", 300, false, T0.Add(time.Hour)))
	Record(t, db, Pay("p", "o1", 1000))
	evs := Events(t, db)
	wantTypes(t, evs, payrecon.PaymentSucceeded, payrecon.RefundSucceeded, payrecon.RefundSucceeded)
	var d payrecon.AppRefund
	if err := json.Unmarshal(evs[2].Data, &d); err != nil {
		t.Fatal(err)
	}
	if d.OutTradeNo != "o1" || d.OutRefundNo != "R1" || d.RefundStatus != payrecon.RefundSuccess || d.RefundedAt == "" || d.RefundFen <= 0 {
		t.Fatalf("refund data %+v", d)
	}
	if evs[0].Seq >= evs[1].Seq || evs[1].Seq >= evs[2].Seq {
		t.Fatalf("seqs out of order: %d %d %d", evs[0].Seq, evs[1].Seq, evs[2].Seq)
	}
}

// testEventQueriedRefundFirst: the daily job recovers a dropped refund by
// query while the trade's payment is not in the ledger, and the query
// states only the refund (no trade status): payment.succeeded, derived
// from what the refund carried, still comes before the refund event, and
// the payment recovered later (by query, then its late callback) writes
// nothing more.
func testEventQueriedRefundFirst(t *testing.T, db Ledger) {
	syncApp(t, db)
	r := payrecon.Repair{Account: "ali", Provider: payrecon.Alipay, Day: Day, RunID: 3, Reason: "MISSING_LOCAL recovered"}
	refund := payrecon.Event{Kind: payrecon.EventRefund, OutTradeNo: "o1", ProviderTradeNo: "To1", AmountFen: 1000, HasAmount: true,
		Refund: &payrecon.Refund{OutRefundNo: "R1", AmountFen: 400, Status: payrecon.RefundSuccess, RefundedAt: T0.Add(time.Hour)}}
	if _, err := db.ApplyQuery(t.Context(), r, &refund); err != nil {
		t.Fatal(err)
	}
	pay := Pay("-", "o1", 1000).Event
	if _, err := db.ApplyQuery(t.Context(), r, &pay); err != nil {
		t.Fatal(err)
	}
	Record(t, db, Pay("late", "o1", 1000))
	evs := Events(t, db)
	wantTypes(t, evs, payrecon.PaymentSucceeded, payrecon.RefundSucceeded)
	var d payrecon.AppTrade
	if err := json.Unmarshal(evs[0].Data, &d); err != nil {
		t.Fatal(err)
	}
	if evs[0].Source != payrecon.SourceQuery || d.Status != payrecon.StatusPaid || d.AmountFen != 1000 || d.ProviderTradeNo != "To1" {
		t.Fatalf("derived payment event %s %s", evs[0].Source, evs[0].Data)
	}
}

// testEventRefundFailed: a refund that goes abnormal writes refund.failed
// once; settled later it writes refund.succeeded; a stale status nothing.
func testEventRefundFailed(t *testing.T, db Ledger) {
	Record(t, db, Pay("p", "o1", 1000))
	mk := func(key string, st payrecon.RefundStatus) *payrecon.Notification {
		n := Pay(key, "o1", 1000)
		n.Provider, n.Event.Kind = payrecon.WeChatPay, payrecon.EventRefund
		n.Event.Refund = &payrecon.Refund{OutRefundNo: "W1", AmountFen: 1000, Status: st, RefundedAt: T0}
		return n
	}
	Record(t, db, mk("a1", payrecon.RefundProcessing))
	Record(t, db, mk("a2", payrecon.RefundAbnormal))
	Record(t, db, mk("a3", payrecon.RefundAbnormal))
	Record(t, db, mk("a4", payrecon.RefundSuccess))
	Record(t, db, mk("a5", payrecon.RefundAbnormal)) // stale
	wantTypes(t, Events(t, db), payrecon.PaymentSucceeded, payrecon.RefundFailed, payrecon.RefundSucceeded)
}

// testEventClosedAndTransfer: a close writes payment.closed once; a
// transfer writes its terminal event once.
func testEventClosedAndTransfer(t *testing.T, db Ledger) {
	closed := Pay("c", "o1", 500)
	closed.Event.Kind, closed.Event.Status = payrecon.EventClose, payrecon.StatusClosed
	Record(t, db, closed)
	closed.DedupKey = "c2"
	Record(t, db, closed)
	tr := func(key, status string) *payrecon.Notification {
		n := Pay(key, "", 0)
		n.Event = payrecon.Event{Kind: payrecon.EventTransfer, Transfer: &payrecon.Transfer{OutBizNo: "T1", OrderID: "2026", AmountFen: 900, Status: status, PaidAt: T0}}
		return n
	}
	Record(t, db, tr("t1", "DEALING"))
	Record(t, db, tr("t2", "SUCCESS"))
	Record(t, db, tr("t3", "SUCCESS"))
	evs := Events(t, db)
	wantTypes(t, evs, payrecon.PaymentClosed, payrecon.TransferSucceeded)
	var d payrecon.AppTransfer
	if err := json.Unmarshal(evs[1].Data, &d); err != nil || d.OutBizNo != "T1" || d.AmountFen != 900 || d.Status != "SUCCESS" {
		t.Fatalf("transfer data %+v, %v", d, err)
	}
}

// testEventDisputeOnce: a denied trade is disputed once, after its payment
// event; a trade the ledger does not hold is not.
func testEventDisputeOnce(t *testing.T, db Ledger) {
	Record(t, db, Pay("p", "G1", 800))
	for i, want := range []bool{true, false} {
		if got, err := db.DisputeTrade(t.Context(), "ali", "G1"); err != nil || got != want {
			t.Fatalf("dispute %d: %v, %v; want %v", i, got, err, want)
		}
	}
	if got, err := db.DisputeTrade(t.Context(), "ali", "nope"); err != nil || got {
		t.Fatalf("dispute of an unknown trade: %v, %v", got, err)
	}
	evs := Events(t, db)
	wantTypes(t, evs, payrecon.PaymentSucceeded, payrecon.TradeDisputed)
	if evs[1].Source != payrecon.SourceQuery {
		t.Fatalf("dispute source %s", evs[1].Source)
	}
}

func due(t *testing.T, db Ledger, now time.Time, busy map[string]bool) []payrecon.Delivery {
	t.Helper()
	ds, err := db.DueDeliveries(t.Context(), now, busy, 100)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func attempt(t *testing.T, db Ledger, d payrecon.Delivery, st payrecon.DeliveryStatus, next time.Time) {
	t.Helper()
	if err := db.RecordAttempt(t.Context(), payrecon.Attempt{Endpoint: d.Endpoint, Seq: d.Seq, Status: st, At: T0, NextAt: next, Error: "x"}); err != nil {
		t.Fatal(err)
	}
}

// testOutboxStreamOrder: a trade's events are due one at a time, in order;
// other trades' are due beside them; a retry waits for its time; an
// endpoint gets only its accounts' events.
func testOutboxStreamOrder(t *testing.T, db Ledger) {
	if err := db.SyncEndpoints(t.Context(), []payrecon.Endpoint{{Name: "app"}, {Name: "other", Accounts: []string{"wx"}}}); err != nil {
		t.Fatal(err)
	}
	Record(t, db, AlipayRefund("r1", "o1", "R1", 300, false, T0)) // payment.succeeded + refund.succeeded of o1
	Record(t, db, Pay("p2", "o2", 100))
	later := T0.Add(time.Hour)
	ds := due(t, db, later, nil)
	if len(ds) != 2 || ds[0].Stream == ds[1].Stream || ds[0].Endpoint != "app" || ds[1].Endpoint != "app" {
		t.Fatalf("due = %+v, want the heads of o1 and o2 at app", ds)
	}
	if busy := due(t, db, later, map[string]bool{ds[0].Lane(): true}); len(busy) != 1 || busy[0].Seq != ds[1].Seq {
		t.Fatalf("with o1 busy: %+v", busy)
	}
	head := ds[0]
	attempt(t, db, head, payrecon.DeliveryPending, later.Add(time.Minute)) // failed once, retry in a minute
	if ds := due(t, db, later, nil); len(ds) != 1 || ds[0].Stream == head.Stream {
		t.Fatalf("a retrying head lets its stream's next event overtake: %+v", ds)
	}
	ds = due(t, db, later.Add(time.Minute), map[string]bool{ds[1].Lane(): true})
	if len(ds) != 1 || ds[0].Seq != head.Seq || ds[0].Attempts != 1 {
		t.Fatalf("due after the retry time: %+v", ds)
	}
	attempt(t, db, ds[0], payrecon.DeliveryDelivered, time.Time{})
	next := due(t, db, later.Add(time.Minute), nil)
	if len(next) != 2 || !hasNext(next, head) {
		t.Fatalf("after the head was delivered: %+v", next)
	}
	st, err := db.Outbox(t.Context())
	if err != nil || st.Pending != 2 || !st.OldestPending.Equal(T0) {
		t.Fatalf("outbox = %+v, %v", st, err)
	}
}

// testOutboxReplayAndDisable: a disabled endpoint gets nothing due; a
// replay makes delivered events pending again and enables it; events of
// an endpoint added later arrive by replay.
func testOutboxReplayAndDisable(t *testing.T, db Ledger) {
	Record(t, db, Pay("p0", "o0", 100)) // before any endpoint: no delivery
	syncApp(t, db)
	Record(t, db, Pay("p1", "o1", 100))
	ds := due(t, db, T0, nil)
	if len(ds) != 1 {
		t.Fatalf("due = %+v", ds)
	}
	attempt(t, db, ds[0], payrecon.DeliveryDelivered, time.Time{})
	if evs := Must(db.Events(t.Context(), store.EventFilter{Status: payrecon.DeliveryDelivered})); len(evs) != 1 || evs[0].Seq != ds[0].Seq {
		t.Fatalf("delivered events %+v", evs)
	}
	Record(t, db, Pay("p2", "o2", 100))
	if err := db.DisableEndpoint(t.Context(), "app", "410 Gone"); err != nil {
		t.Fatal(err)
	}
	if ds := due(t, db, T0, nil); len(ds) != 0 {
		t.Fatalf("due at a disabled endpoint: %+v", ds)
	}
	n, err := db.Replay(t.Context(), nil, T0.Add(-time.Hour))
	if err != nil || n != 3 {
		t.Fatalf("replay: %d, %v; want 3 events", n, err)
	}
	if ds := due(t, db, time.Now().Add(time.Hour), nil); len(ds) != 3 {
		t.Fatalf("due after replay: %+v", ds)
	}
	evs := Events(t, db)
	if n, err := db.Replay(t.Context(), []string{evs[0].ID}, time.Time{}); err != nil || n != 1 {
		t.Fatalf("replay by id: %d, %v", n, err)
	}
	if page := Must(db.Events(t.Context(), store.EventFilter{After: evs[0].Seq, Limit: 1})); len(page) != 1 || page[0].Seq != evs[1].Seq {
		t.Fatalf("page after %d: %+v", evs[0].Seq, page)
	}
}

// hasNext reports whether ds holds a later event of head's stream.
func hasNext(ds []payrecon.Delivery, head payrecon.Delivery) bool {
	for _, d := range ds {
		if d.Stream == head.Stream && d.Seq > head.Seq {
			return true
		}
	}
	return false
}

package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

var t0 = time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)

func pay(key, out string, amt payrecon.Fen) *payrecon.Notification {
	return &payrecon.Notification{Account: "ali", Provider: payrecon.Alipay, Protocol: "alipay", DedupKey: key,
		EventType: "TRADE_SUCCESS", SignedBy: "test",
		Event: payrecon.Event{Kind: payrecon.EventPayment, Status: payrecon.StatusPaid, OutTradeNo: out,
			ProviderTradeNo: "T" + out, AmountFen: amt, HasAmount: true, PaidAt: t0}}
}

func alipayRefund(key, out, refundNo string, total payrecon.Fen, closed bool, at time.Time) *payrecon.Notification {
	n := pay(key, out, 1000)
	n.Event.Kind = payrecon.EventRefund
	n.Event.PaidAt = time.Time{}
	if closed {
		n.Event.Status = payrecon.StatusRefunded
	}
	n.Event.Refund = &payrecon.Refund{OutRefundNo: refundNo, TotalFen: total, Status: payrecon.RefundSuccess, RefundedAt: at}
	return n
}

func record(t *testing.T, db *store.DB, n *payrecon.Notification) payrecon.Recorded {
	t.Helper()
	rec, err := db.RecordNotification(t.Context(), payrecon.RawNotification{Body: []byte("body " + n.DedupKey), ReceivedAt: t0}, n)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func trade(t *testing.T, db *store.DB, out string) payrecon.Trade {
	t.Helper()
	ts, err := db.Trades(t.Context(), store.TradeFilter{})
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

func TestDuplicateIsOneFact(t *testing.T) {
	db := storetest.MustOpen(t, store.Options{})
	if rec := record(t, db, pay("k1", "o1", 100)); rec.Duplicate {
		t.Fatal("first delivery marked duplicate")
	}
	if rec := record(t, db, pay("k1", "o1", 100)); !rec.Duplicate {
		t.Fatal("second delivery not marked duplicate")
	}
	c, err := db.Count(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if c.Notifications != 1 || c.Deliveries != 2 || c.Trades != 1 {
		t.Fatalf("counts = %+v", c)
	}
	ev, err := db.LedgerEvents(t.Context(), "ali", "o1")
	if err != nil || len(ev) != 1 || ev[0].SourceRef != "notification:1" {
		t.Fatalf("events = %+v, %v", ev, err)
	}
}

func TestAlipayRefundsOutOfOrder(t *testing.T) {
	db := storetest.MustOpen(t, store.Options{})
	// Second partial refund (running total 7.00) arrives first, then the
	// first (3.00), then the full refund close (10.00), then the payment.
	record(t, db, alipayRefund("r2", "o1", "R2", 700, false, t0.Add(2*time.Hour)))
	if tr := trade(t, db, "o1"); tr.Status != payrecon.StatusPaid || tr.RefundedFen != 700 {
		t.Fatalf("after R2: %+v", tr)
	}
	record(t, db, alipayRefund("r1", "o1", "R1", 300, false, t0.Add(time.Hour)))
	record(t, db, alipayRefund("r3", "o1", "R3", 1000, true, t0.Add(3*time.Hour)))
	record(t, db, pay("p", "o1", 1000))
	tr := trade(t, db, "o1")
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
	}
	if got["R1"] != 300 || got["R2"] != 400 || got["R3"] != 300 {
		t.Fatalf("derived refund amounts = %v", got)
	}
}

func TestStatusNeverMovesBackwards(t *testing.T) {
	db := storetest.MustOpen(t, store.Options{})
	record(t, db, pay("p", "o1", 500))
	closed := pay("c", "o1", 500)
	closed.Event.Kind, closed.Event.Status = payrecon.EventClose, payrecon.StatusClosed
	record(t, db, closed)
	pending := pay("w", "o1", 500)
	pending.Event.Kind, pending.Event.Status = payrecon.EventPending, payrecon.StatusPending
	record(t, db, pending)
	if tr := trade(t, db, "o1"); tr.Status != payrecon.StatusPaid {
		t.Fatalf("status = %s, want PAID", tr.Status)
	}
}

func TestRefundStatusTerminal(t *testing.T) {
	db := storetest.MustOpen(t, store.Options{})
	mk := func(key string, st payrecon.RefundStatus) *payrecon.Notification {
		n := pay(key, "o1", 1000)
		n.Provider, n.Event.Kind = payrecon.WeChatPay, payrecon.EventRefund
		n.Event.Refund = &payrecon.Refund{OutRefundNo: "R1", AmountFen: 1000, Status: st}
		return n
	}
	record(t, db, mk("a", payrecon.RefundAbnormal))
	if tr := trade(t, db, "o1"); tr.RefundedFen != 0 || tr.Status != payrecon.StatusPaid {
		t.Fatalf("abnormal counted: %+v", tr)
	}
	record(t, db, mk("s", payrecon.RefundSuccess))
	record(t, db, mk("a2", payrecon.RefundAbnormal)) // stale
	if tr := trade(t, db, "o1"); tr.RefundedFen != 1000 || tr.Status != payrecon.StatusRefunded {
		t.Fatalf("after success: %+v", tr)
	}
}

func TestGroupCommitConcurrent(t *testing.T) {
	for _, opt := range []store.Options{{}, {NoGroupCommit: true}, {MaxBatch: 3}} {
		t.Run(fmt.Sprintf("%+v", opt), func(t *testing.T) {
			db := storetest.MustOpen(t, opt)
			var wg sync.WaitGroup
			errs := make(chan error, 200)
			for i := range 200 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					// Every fourth is a duplicate of its neighbour.
					k := i - i%2*(i%4/2)
					_, err := db.RecordNotification(context.Background(), payrecon.RawNotification{ReceivedAt: t0}, pay(fmt.Sprint("k", k), fmt.Sprint("o", k), 1))
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
			c, _ := db.Count(t.Context())
			if c.Deliveries != 200 || c.Notifications != c.Trades {
				t.Fatalf("counts = %+v", c)
			}
		})
	}
}

func TestFailingWriteDoesNotFailBatch(t *testing.T) {
	db := storetest.MustOpen(t, store.Options{})
	bad := pay("bad", "o-bad", 1)
	bad.Event.Kind = "nonsense"
	var wg sync.WaitGroup
	var badErr error
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == 10 {
				_, badErr = db.RecordNotification(t.Context(), payrecon.RawNotification{ReceivedAt: t0}, bad)
				return
			}
			if _, err := db.RecordNotification(t.Context(), payrecon.RawNotification{ReceivedAt: t0}, pay(fmt.Sprint(i), fmt.Sprint(i), 1)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if badErr == nil {
		t.Fatal("bad event accepted")
	}
	c, _ := db.Count(t.Context())
	if c.Notifications != 19 || c.Trades != 19 {
		t.Fatalf("counts = %+v (the failed write must leave no raw row either)", c)
	}
}

func TestQuarantineCapsBody(t *testing.T) {
	db := storetest.MustOpen(t, store.Options{})
	big := make([]byte, store.MaxQuarantineBody+10)
	if err := db.Quarantine(t.Context(), payrecon.Rejected{ReceivedAt: t0, Account: "ali", Reason: "bad_signature", Body: big, BodySize: int64(len(big))}); err != nil {
		t.Fatal(err)
	}
	c, _ := db.Count(t.Context())
	if c.Quarantined != 1 || c.Trades != 0 || c.Notifications != 0 {
		t.Fatalf("counts = %+v", c)
	}
}

func TestOpenRejectsMemoryAndReopens(t *testing.T) {
	if _, err := store.Open(t.Context(), ":memory:", store.Options{}, storetest.Logger(t)); err == nil {
		t.Fatal(":memory: accepted")
	}
	path := filepath.Join(t.TempDir(), "x.db")
	db, err := store.Open(t.Context(), path, store.Options{}, storetest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	record(t, db, pay("k", "o", 1))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RecordNotification(t.Context(), payrecon.RawNotification{}, pay("k2", "o2", 1)); err == nil {
		t.Fatal("write after close accepted")
	}
	db, err = store.Open(t.Context(), path, store.Options{}, storetest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if c, _ := db.Count(t.Context()); c.Trades != 1 {
		t.Fatalf("after reopen: %+v", c)
	}
}

package store_test

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

var (
	t0     = storetest.T0
	pay    = storetest.Pay
	record = storetest.Record
)

// TestLedger runs the conformance suite on SQLite.
func TestLedger(t *testing.T) {
	storetest.TestLedger(t, func(t *testing.T) storetest.Ledger { return storetest.MustOpen(t, store.Options{}) })
}

// TestGroupCommitModes runs the conformance suite (concurrent deliveries
// included) with group commit off and with tiny batches as well.
func TestGroupCommitModes(t *testing.T) {
	for _, opt := range []store.Options{{NoGroupCommit: true}, {MaxBatch: 3}} {
		t.Run(fmt.Sprintf("%+v", opt), func(t *testing.T) {
			storetest.TestLedger(t, func(t *testing.T) storetest.Ledger { return storetest.MustOpen(t, opt) })
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
	big := make([]byte, 64<<10+10)
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

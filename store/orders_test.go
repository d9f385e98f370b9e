package store_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

func expected(out string, amt payrecon.Fen) payrecon.ExpectedOrder {
	return payrecon.ExpectedOrder{Account: "ali", OutTradeNo: out, AmountFen: amt, CreatedAt: t0, NextCheckAt: t0.Add(time.Minute)}
}

func orders(t *testing.T, db *store.DB) []payrecon.ExpectedOrder {
	t.Helper()
	got, err := db.Orders(t.Context(), "ali", t0.AddDate(-1, 0, 0), t0.AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestRegisterOrdersIdempotent(t *testing.T) {
	t.Parallel()
	db := storetest.MustOpen(t, store.Options{})
	n, err := db.RegisterOrders(t.Context(), expected("O-1", 100), expected("O-2", 200), expected("O-1", 999))
	if err != nil || n != 2 {
		t.Fatalf("first batch: %d new, %v; want 2 (O-1 twice in one batch is one order)", n, err)
	}
	before := orders(t, db)
	if len(before) != 2 || before[0].AmountFen != 100 || before[0].Status != "waiting" {
		t.Fatalf("orders %+v", before)
	}
	// Registering the same orders again, even with other values, changes nothing.
	again := expected("O-1", 555)
	again.NextCheckAt = t0.Add(time.Hour)
	if n, err := db.RegisterOrders(t.Context(), again, expected("O-2", 200)); err != nil || n != 0 {
		t.Fatalf("re-registration: %d new, %v", n, err)
	}
	after := orders(t, db)
	if len(after) != len(before) {
		t.Fatalf("%d orders after re-registration, want %d", len(after), len(before))
	}
	for i := range before {
		if after[i] != before[i] {
			t.Errorf("re-registration changed %+v to %+v", before[i], after[i])
		}
	}
}

// TestRegisterOrdersAllOrNothing: a database failure on one order of a
// batch leaves none of the batch registered.
func TestRegisterOrdersAllOrNothing(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ledger.db")
	db, err := store.Open(t.Context(), path, store.Options{}, storetest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.FailOrderInsert(t, path, "O-BOOM")
	_, err = db.RegisterOrders(t.Context(), expected("O-1", 100), expected("O-BOOM", 200), expected("O-3", 300))
	if err == nil || !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("err = %v, want the injected failure", err)
	}
	if got := orders(t, db); len(got) != 0 {
		t.Fatalf("a failed batch left %d orders registered: %+v", len(got), got)
	}
	// The same batch without the failing order goes in whole.
	if n, err := db.RegisterOrders(t.Context(), expected("O-1", 100), expected("O-3", 300)); err != nil || n != 2 {
		t.Fatalf("good batch: %d new, %v", n, err)
	}
}

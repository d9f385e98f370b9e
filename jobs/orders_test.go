package jobs_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

var orderNow = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func newRegistrar(t *testing.T) (*jobs.Registrar, *store.DB) {
	t.Helper()
	db := storetest.MustOpen(t, store.Options{})
	return jobs.NewRegistrar(db, []string{"ali", "wx"}, jobs.DefaultTiers(), func() time.Time { return orderNow }), db
}

func registered(t *testing.T, db *store.DB, account string) []payrecon.ExpectedOrder {
	t.Helper()
	got, err := db.Orders(t.Context(), account, orderNow.AddDate(-1, 0, 0), orderNow.AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestRegisterSchedulesFirstCheck(t *testing.T) {
	t.Parallel()
	reg, db := newRegistrar(t)
	added, known, err := reg.Register(t.Context(), []jobs.OrderRequest{
		{Account: "ali", OutTradeNo: "NEW", AmountFen: 100, CreatedAt: "2026-11-20T17:59:30+08:00"}, // 30 s old
		{Account: "ali", OutTradeNo: "OLD", AmountFen: 100, CreatedAt: "2026-11-20T08:00:00+08:00"},
		{Account: "ali", OutTradeNo: "NOW", AmountFen: 1},
	})
	if err != nil || added != 3 || known != 0 {
		t.Fatalf("register: %d added, %d known, %v", added, known, err)
	}
	first := jobs.DefaultTiers()[0].Every
	want := map[string]time.Time{
		"NEW": orderNow.Add(-30 * time.Second).Add(first), // one first-tier interval after creation
		"OLD": orderNow,                                   // overdue: checked now
		"NOW": orderNow.Add(first),                        // created now by default
	}
	for _, o := range registered(t, db, "ali") {
		if !o.NextCheckAt.Equal(want[o.OutTradeNo]) || o.Status != payrecon.OrderWaiting {
			t.Errorf("%s: next check %s, status %s; want %s, waiting", o.OutTradeNo, o.NextCheckAt, o.Status, want[o.OutTradeNo])
		}
	}
}

// TestRegisterBadOrderRegistersNothing: one invalid order anywhere in a
// batch is reported with its index and field, and no order of the batch
// is registered.
func TestRegisterBadOrderRegistersNothing(t *testing.T) {
	t.Parallel()
	good := jobs.OrderRequest{Account: "ali", OutTradeNo: "G-1", AmountFen: 100}
	for _, tc := range []struct {
		name  string
		bad   jobs.OrderRequest
		field string
	}{
		{"unknown account", jobs.OrderRequest{Account: "nobody", OutTradeNo: "B", AmountFen: 1}, "account"},
		{"no out_trade_no", jobs.OrderRequest{Account: "ali", AmountFen: 1}, "out_trade_no"},
		{"long out_trade_no", jobs.OrderRequest{Account: "ali", OutTradeNo: strings.Repeat("x", 65), AmountFen: 1}, "out_trade_no"},
		{"negative amount", jobs.OrderRequest{Account: "ali", OutTradeNo: "B", AmountFen: -1}, "amount_fen"},
		{"bad created_at", jobs.OrderRequest{Account: "ali", OutTradeNo: "B", AmountFen: 1, CreatedAt: "2026-11-20 10:00"}, "created_at"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, db := newRegistrar(t)
			other := good
			other.OutTradeNo = "G-3"
			_, _, err := reg.Register(t.Context(), []jobs.OrderRequest{good, tc.bad, other})
			var oe *jobs.OrderError
			if !errors.As(err, &oe) || oe.Row != 1 || oe.Field != tc.field {
				t.Fatalf("err = %#v, want an OrderError for order 1, field %s", err, tc.field)
			}
			if !strings.HasPrefix(err.Error(), "order 1: "+tc.field+": ") {
				t.Errorf("message %q does not name the order and field", err)
			}
			if got := registered(t, db, "ali"); len(got) != 0 {
				t.Fatalf("%d orders registered from a rejected batch: %+v", len(got), got)
			}
		})
	}
}

func TestRegisterTwiceChangesNothing(t *testing.T) {
	t.Parallel()
	reg, db := newRegistrar(t)
	batch := []jobs.OrderRequest{{Account: "ali", OutTradeNo: "A", AmountFen: 100, CreatedAt: "2026-11-20T17:00:00+08:00"}, {Account: "wx", OutTradeNo: "A", AmountFen: 5}}
	if added, known, err := reg.Register(t.Context(), batch); err != nil || added != 2 || known != 0 {
		t.Fatalf("first: %d added, %d known, %v", added, known, err)
	}
	before := registered(t, db, "ali")
	batch[0].AmountFen, batch[0].CreatedAt = 999, ""
	if added, known, err := reg.Register(t.Context(), batch); err != nil || added != 0 || known != 2 {
		t.Fatalf("again: %d added, %d known, %v", added, known, err)
	}
	after := registered(t, db, "ali")
	if len(after) != 1 || after[0] != before[0] {
		t.Fatalf("re-registration changed %+v to %+v", before, after)
	}
}

// TestRegisterLedgerError: a ledger failure is not an OrderError, so
// callers can tell it from a bad order.
func TestRegisterLedgerError(t *testing.T) {
	t.Parallel()
	reg, db := newRegistrar(t)
	db.Close()
	_, _, err := reg.Register(t.Context(), []jobs.OrderRequest{{Account: "ali", OutTradeNo: "A", AmountFen: 100}})
	var oe *jobs.OrderError
	if err == nil || errors.As(err, &oe) || !errors.Is(err, store.ErrClosed) {
		t.Fatalf("err = %v, want the ledger's error", err)
	}
}

package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/store"
)

// GoLiveLease is the ledger's record of when each account went live and
// its per-(account, day) run leases.
type GoLiveLease interface {
	MarkGoLive(ctx context.Context, account string, at time.Time) (time.Time, error)
	GoLive(ctx context.Context, account string) (time.Time, error)
	AcquireLease(ctx context.Context, l payrecon.Lease, ttl time.Duration) (payrecon.Lease, error)
	RenewLease(ctx context.Context, l payrecon.Lease, ttl time.Duration) (payrecon.Lease, error)
	ReleaseLease(ctx context.Context, l payrecon.Lease) error
}

// testGoLiveFirstStart: only the first start counts, per account, and an
// account that already received notifications went live with the first.
func testGoLiveFirstStart(t *testing.T, db Ledger) {
	if _, err := db.GoLive(t.Context(), "ali"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("go-live of a fresh ledger: %v, want ErrNotFound", err)
	}
	first := T0.Add(time.Hour)
	if got := Must(db.MarkGoLive(t.Context(), "wx", first)); !got.Equal(first) {
		t.Fatalf("first start: went live %v, want %v", got, first)
	}
	if got := Must(db.MarkGoLive(t.Context(), "wx", first.Add(24*time.Hour))); !got.Equal(first) {
		t.Fatalf("second start moved go-live to %v, want %v", got, first)
	}
	Record(t, db, Pay("n1", "G1", 100)) // received at T0, before ali's first start
	if got := Must(db.MarkGoLive(t.Context(), "ali", T0.Add(48*time.Hour))); !got.Equal(T0) {
		t.Fatalf("ali went live %v, want its first notification's %v", got, T0)
	}
	if got := Must(db.GoLive(t.Context(), "wx")); !got.Equal(first) {
		t.Fatalf("wx went live %v, want %v", got, first)
	}
}

// testBillSourceOutOfHealth: a trade backfilled from the bill (before go-live)
// is recorded with source=bill and does not count in callback health.
func testBillSourceOutOfHealth(t *testing.T, db Ledger) {
	Record(t, db, Pay("n1", "H1", 100))
	ev := &payrecon.Event{Kind: payrecon.EventPayment, Status: payrecon.StatusPaid, OutTradeNo: "B1", AmountFen: 100, HasAmount: true, PaidAt: T0}
	changed, err := db.ApplyQuery(t.Context(), payrecon.Repair{Account: "ali", Provider: payrecon.Alipay, Day: Day, RunID: 3, Reason: "BEFORE_START", Source: payrecon.SourceBill}, ev)
	if err != nil || !changed {
		t.Fatalf("backfill: changed %v, %v", changed, err)
	}
	if tr := Trade(t, db, "B1"); tr.Source != payrecon.SourceBill {
		t.Fatalf("backfilled trade has source %q, want bill", tr.Source)
	}
	h, _, err := db.CallbackHealth(t.Context(), "ali", Day.Start(), Day.End())
	if err != nil {
		t.Fatal(err)
	}
	if h.Notify != 1 || h.Query != 0 || h.BillOnly != 0 {
		t.Fatalf("health %+v: want only the notified trade", h)
	}
}

func testLease(holder string, pid int) payrecon.Lease {
	return payrecon.Lease{Account: "ali", Day: Day, Holder: holder, PID: pid, Host: "h1", Since: T0}
}

func testLeaseAcquireRelease(t *testing.T, db Ledger) {
	a := Must(db.AcquireLease(t.Context(), testLease("1@h1/1", 1), time.Minute))
	if !a.ExpiresAt.After(time.Now()) {
		t.Fatalf("lease expires at %v", a.ExpiresAt)
	}
	a2 := Must(db.RenewLease(t.Context(), a, 2*time.Minute))
	if !a2.ExpiresAt.After(a.ExpiresAt) {
		t.Fatalf("renewed lease expires at %v, was %v", a2.ExpiresAt, a.ExpiresAt)
	}
	if err := db.ReleaseLease(t.Context(), a2); err != nil {
		t.Fatal(err)
	}
	if err := db.ReleaseLease(t.Context(), a2); !errors.Is(err, payrecon.ErrLeaseLost) {
		t.Fatalf("second release: %v, want ErrLeaseLost", err)
	}
	// Released, the day is free for the next run: no takeover.
	b := Must(db.AcquireLease(t.Context(), testLease("2@h1/2", 2), time.Minute))
	if a.TakenOver || b.TakenOver {
		t.Fatalf("a free lease reads as taken over: %v %v", a.TakenOver, b.TakenOver)
	}
	if err := db.ReleaseLease(t.Context(), b); err != nil {
		t.Fatal(err)
	}
}

func testLeaseConflict(t *testing.T, db Ledger) {
	Must(db.AcquireLease(t.Context(), testLease("1@h1/1", 1), time.Minute))
	_, err := db.AcquireLease(t.Context(), testLease("2@h2/2", 2), time.Minute)
	var held *payrecon.LeaseHeldError
	if !errors.Is(err, payrecon.ErrRunLeased) || !errors.As(err, &held) || held.Lease.PID != 1 || held.Lease.Host != "h1" || !held.Lease.Since.Equal(T0) {
		t.Fatalf("second acquire: %v, want the first holder named", err)
	}
	// Another day, or another account, is free.
	other := testLease("2@h2/2", 2)
	other.Day = Day.AddDays(1)
	Must(db.AcquireLease(t.Context(), other, time.Minute))
	other.Day, other.Account = Day, "wx"
	Must(db.AcquireLease(t.Context(), other, time.Minute))
	// The loser cannot renew or release what it does not hold.
	if _, err := db.RenewLease(t.Context(), testLease("2@h2/2", 2), time.Minute); !errors.Is(err, payrecon.ErrLeaseLost) {
		t.Fatalf("renew by a non-holder: %v", err)
	}
	if err := db.ReleaseLease(t.Context(), testLease("2@h2/2", 2)); !errors.Is(err, payrecon.ErrLeaseLost) {
		t.Fatalf("release by a non-holder: %v", err)
	}
}

func testLeaseExpiryTakeover(t *testing.T, db Ledger) {
	stale := Must(db.AcquireLease(t.Context(), testLease("1@h1/1", 1), -time.Second)) // expired already: its holder died
	got := Must(db.AcquireLease(t.Context(), testLease("2@h2/2", 2), time.Minute))
	if got.Holder != "2@h2/2" || !got.TakenOver || stale.TakenOver {
		t.Fatalf("takeover: holder %q taken over %v (first acquisition %v)", got.Holder, got.TakenOver, stale.TakenOver)
	}
	if _, err := db.RenewLease(t.Context(), stale, time.Minute); !errors.Is(err, payrecon.ErrLeaseLost) {
		t.Fatalf("the old holder renewed a lease taken over: %v", err)
	}
	if _, err := db.AcquireLease(t.Context(), testLease("3@h3/3", 3), time.Minute); !errors.Is(err, payrecon.ErrRunLeased) {
		t.Fatalf("the new holder's lease is not held: %v", err)
	}
}

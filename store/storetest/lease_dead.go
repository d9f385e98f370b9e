package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
)

// DeadLeases releases the run leases of processes that died mid-run.
type DeadLeases interface {
	ReleaseDeadLeases(ctx context.Context, alive func(payrecon.Lease) bool) (int, error)
}

// testReleaseDeadLeases: only the leases the judge calls dead are
// released (the day is free at once, not at expiry); a living holder's
// lease stays and still refuses a second run.
func testReleaseDeadLeases(t *testing.T, db Ledger) {
	deadLease := Must(db.AcquireLease(t.Context(), testLease("1@h1/1", 1), time.Hour))
	live := testLease("2@h1/2", 2)
	live.Day = Day.AddDays(1)
	Must(db.AcquireLease(t.Context(), live, time.Hour))
	n := Must(db.ReleaseDeadLeases(t.Context(), func(l payrecon.Lease) bool { return l.PID != 1 }))
	if n != 1 {
		t.Fatalf("released %d leases, want the dead holder's 1", n)
	}
	if _, err := db.RenewLease(t.Context(), deadLease, time.Minute); err == nil {
		t.Fatal("the dead holder still holds its lease")
	}
	Must(db.AcquireLease(t.Context(), testLease("3@h1/3", 3), time.Minute)) // the day is free before its expiry
	other := testLease("4@h1/4", 4)
	other.Day = live.Day
	if _, err := db.AcquireLease(t.Context(), other, time.Minute); err == nil {
		t.Fatal("a living holder's lease was released")
	}
}

package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/store"
)

// CrashLedger is what a ledger offers for surviving a crash: durable
// commits, a consistency check, and marking the runs a dead process left
// running.
type CrashLedger interface {
	Durability(ctx context.Context) (store.Durability, error)
	IntegrityCheck(ctx context.Context) error
	StartRun(ctx context.Context, account string, day payrecon.Day, trigger string) (int64, error)
	StartJob(ctx context.Context, job, account string, day payrecon.Day, trigger string) (int64, error)
	FinishRun(ctx context.Context, id, billID int64, counts map[payrecon.Code]int, workbook string, runErr error) error
	Runs(ctx context.Context, limit int) ([]payrecon.Run, error)
	JobRuns(ctx context.Context, limit int) ([]payrecon.JobRun, error)
	MarkDeadRuns(ctx context.Context, alive func(owner string) bool, unowned time.Time) (int, error)
}

// TestCrash runs the crash behaviours against fresh ledgers from open.
func TestCrash(t *testing.T, open func(t *testing.T) CrashLedger) {
	t.Run("CommitsAreSynced", func(t *testing.T) { testCommitsSynced(t, open(t)) })
	t.Run("DeadRunsMarked", func(t *testing.T) { testDeadRunsMarked(t, open(t)) })
}

// testCommitsSynced: the write connection fsyncs every commit (WAL with
// synchronous FULL or EXTRA), so a notification acknowledged after its
// commit survives a power loss; and a fresh ledger passes integrity_check.
func testCommitsSynced(t *testing.T, db CrashLedger) {
	d := Must(db.Durability(t.Context()))
	if !d.Synced() || d.JournalMode != "wal" || d.Synchronous < 2 {
		t.Fatalf("write connection: journal_mode=%s synchronous=%d, want wal and 2 (FULL) or 3 (EXTRA)", d.JournalMode, d.Synchronous)
	}
	if err := db.IntegrityCheck(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// testDeadRunsMarked: a run or job left running by a dead owner is marked
// failed with the reason; one whose owner lives, and a finished one, are
// left alone.
func testDeadRunsMarked(t *testing.T, db CrashLedger) {
	ctx := t.Context()
	live := Must(db.StartRun(ctx, "ali", Day, "cli"))
	done := Must(db.StartRun(ctx, "ali", Day.AddDays(-1), "cli"))
	if err := db.FinishRun(ctx, done, 0, nil, "", nil); err != nil {
		t.Fatal(err)
	}
	Must(db.StartJob(ctx, "reconcile", "ali", Day, "cron"))
	if n := Must(db.MarkDeadRuns(ctx, func(string) bool { return true }, time.Time{})); n != 0 {
		t.Fatalf("marked %d runs of live owners", n)
	}
	if n := Must(db.MarkDeadRuns(ctx, func(string) bool { return false }, time.Time{})); n != 2 {
		t.Fatalf("marked %d, want the running run and job", n)
	}
	runs := Must(db.Runs(ctx, 10))
	for _, r := range runs {
		switch {
		case r.ID == live && (r.Status != payrecon.RunFailed || r.FinishedAt.IsZero() || r.Error == ""):
			t.Errorf("dead run %+v: want failed, finished, with the reason", r)
		case r.ID == done && (r.Status != payrecon.RunOK || r.Error != ""):
			t.Errorf("finished run changed: %+v", r)
		}
	}
	jobs := Must(db.JobRuns(ctx, 10))
	if len(jobs) != 1 || jobs[0].Status != payrecon.RunFailed || jobs[0].Error == "" {
		t.Errorf("dead job %+v: want failed with the reason", jobs)
	}
	if n := Must(db.MarkDeadRuns(ctx, func(string) bool { return false }, time.Time{})); n != 0 {
		t.Errorf("marked %d again", n)
	}
}

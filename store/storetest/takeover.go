package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
)

// TakenOverRuns marks the runs a taken-over lease holder left running.
type TakenOverRuns interface {
	MarkTakenOverRuns(ctx context.Context, account string, day payrecon.Day, before time.Time, holder string) (int, error)
	JobRuns(ctx context.Context, limit int) ([]payrecon.JobRun, error)
}

// testTakenOverRunsMarked: the day's run and job left running before the
// takeover are marked failed with the reason; another day's, another
// account's, a finished one and one started after the takeover are not.
func testTakenOverRunsMarked(t *testing.T, db Ledger) {
	ctx := t.Context()
	dead := Must(db.StartRun(ctx, "ali", Day, "cron"))
	deadJob := Must(db.StartJob(ctx, "reconcile", "ali", Day, "cron"))
	otherDay := Must(db.StartRun(ctx, "ali", Day.AddDays(-1), "cron"))
	otherAcct := Must(db.StartRun(ctx, "wx", Day, "cron"))
	done := Must(db.StartRun(ctx, "ali", Day, "cli"))
	if err := db.FinishRun(ctx, done, 0, nil, "", nil); err != nil {
		t.Fatal(err)
	}
	takeover := time.Now().Add(time.Second) // after every start above: times are stored to the millisecond
	n := Must(db.MarkTakenOverRuns(ctx, "ali", Day, takeover, "42@replica-a/1"))
	if n != 2 {
		t.Fatalf("marked %d, want the day's running run and job", n)
	}
	for _, r := range Must(db.Runs(ctx, 10)) {
		switch r.ID {
		case dead:
			if r.Status != payrecon.RunFailed || r.FinishedAt.IsZero() || r.Error == "" {
				t.Errorf("taken-over run %+v: want failed, finished, with the reason", r)
			}
		case otherDay, otherAcct:
			if r.Status != payrecon.RunRunning {
				t.Errorf("another day's or account's run was marked: %+v", r)
			}
		case done:
			if r.Status != payrecon.RunOK {
				t.Errorf("a finished run changed: %+v", r)
			}
		}
	}
	for _, j := range Must(db.JobRuns(ctx, 10)) {
		if j.ID == deadJob && (j.Status != payrecon.RunFailed || j.Error == "") {
			t.Errorf("taken-over job %+v: want failed with the reason", j)
		}
	}
	if n := Must(db.MarkTakenOverRuns(ctx, "ali", Day, time.Now().Add(-time.Hour), "")); n != 0 {
		t.Errorf("marked %d runs started after the takeover", n)
	}
}

package jobs_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

func TestSchedulerCatchUpAndCron(t *testing.T) {
	e := setup(t, sandbox.ServerFaults{BillNotReady: 0})
	// "Now" is noon the day after the sandbox day: that day is due.
	e.daily.Now = func() time.Time { return day.Add(36 * time.Hour) }
	acct := e.sb.ID.Alipay.Account
	s := &jobs.Scheduler{Daily: e.daily, Specs: map[string]string{acct: "@every 1s"}, CatchUpDays: 3, Log: e.daily.Log}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The 20th runs once, by the catch-up or the cron entry (whichever
	// takes it first: the other finds it done); the cron entry fires
	// (retrying the failed days).
	runs := waitRuns(t, e.db, func(rs []payrecon.JobRun) bool {
		var done, cron bool
		for _, r := range rs {
			done = done || (r.Day.String() == "2026-11-20" && r.Status == "ok")
			cron = cron || (r.Trigger == "retry" && r.Status != "running")
		}
		return done && cron
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	// Days without a bill (the 18th and 19th) failed; the 20th succeeded,
	// once.
	twentieth := 0
	for _, r := range runs {
		if r.Day.String() != "2026-11-20" && r.Status != "failed" && r.Status != "running" {
			t.Errorf("%s of %s: %s", r.Trigger, r.Day, r.Status)
		}
		if r.Day.String() == "2026-11-20" {
			twentieth++
		}
	}
	if twentieth != 1 {
		t.Errorf("the 20th ran %d times: %+v", twentieth, runs)
	}
	// A restart does not run the succeeded day again. (Count after Stop:
	// the cron entry may have fired again between the wait and the stop.)
	stopped, err := e.db.JobRuns(t.Context(), 100)
	if err != nil {
		t.Fatal(err)
	}
	n := len(stopped)
	s2 := &jobs.Scheduler{Daily: e.daily, Specs: map[string]string{acct: "@every 1h"}, CatchUpDays: 1, Log: e.daily.Log}
	if err := s2.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	s2.Stop(ctx)
	if after := storetest.Must(e.db.JobRuns(t.Context(), 100)); len(after) != n {
		t.Fatalf("restart re-ran a succeeded day: %d -> %d runs", n, len(after))
	}
}

func TestSchedulerRejectsBadSpec(t *testing.T) {
	s := &jobs.Scheduler{Daily: &jobs.Daily{}, Specs: map[string]string{"a": "every tuesday"}, Log: slog.New(slog.DiscardHandler)}
	if err := s.Start(t.Context()); err == nil {
		t.Fatal("bad spec accepted")
	}
}

func waitRuns(t *testing.T, db *store.DB, ok func([]payrecon.JobRun) bool) []payrecon.JobRun {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		rs, err := db.JobRuns(t.Context(), 100)
		if err != nil {
			t.Fatal(err)
		}
		if ok(rs) {
			return rs
		}
		time.Sleep(50 * time.Millisecond)
	}
	rs := storetest.Must(db.JobRuns(t.Context(), 100))
	t.Fatalf("job runs never reached the expected state: %+v", rs)
	return nil
}

// TestSchedulerRetriesFailedDay: a day whose run failed (its bill was not
// ready by the deadline) is run again on the schedule's next window, not
// only after a restart.
func TestSchedulerRetriesFailedDay(t *testing.T) {
	e := setup(t, sandbox.ServerFaults{BillNotReady: 1})
	e.daily.Opt.BillDeadline = 0 // give up at the first "not ready"
	// Noon two days after the sandbox day: the 20th is two days back, the
	// 21st (no bill in the emulator) is yesterday.
	e.daily.Now = func() time.Time { return day.Add(60 * time.Hour) }
	acct := e.sb.ID.WeChat.Account
	s := &jobs.Scheduler{Daily: e.daily, Specs: map[string]string{acct: "@every 1s"}, CatchUpDays: 2, Log: e.daily.Log}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	runs := waitRuns(t, e.db, func(rs []payrecon.JobRun) bool {
		for _, r := range rs {
			if r.Day.String() == "2026-11-20" && r.Trigger == "retry" && r.Status == payrecon.RunOK {
				return true
			}
		}
		return false
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	var firstFailed bool
	for _, r := range runs {
		firstFailed = firstFailed || (r.Day.String() == "2026-11-20" && r.Trigger == "catch-up" && r.Status == payrecon.RunFailed)
	}
	if !firstFailed {
		t.Fatalf("the 20th did not fail first: %+v", runs)
	}
}

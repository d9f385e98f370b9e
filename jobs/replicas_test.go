package jobs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/store/storetest"
)

// stopScheduler stops s, bounded.
func stopScheduler(t *testing.T, s *jobs.Scheduler) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestSchedulersShareADay: two schedulers on one ledger (two replicas)
// catching up the same due day reconcile it once: the second finds the
// day leased or done and records no job, no failed run.
func TestSchedulersShareADay(t *testing.T) {
	e := setup(t, sandbox.ServerFaults{Slow: 20 * time.Millisecond})
	e.daily.Now = func() time.Time { return day.Add(36 * time.Hour) }
	acct := e.sb.ID.WeChat.Account
	other := *e.daily
	var ss []*jobs.Scheduler
	for _, d := range []*jobs.Daily{e.daily, &other} {
		s := &jobs.Scheduler{Daily: d, Specs: map[string]string{acct: "@every 1h"}, CatchUpDays: 1, Log: e.daily.Log}
		if err := s.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		ss = append(ss, s)
	}
	waitRuns(t, e.db, func(rs []payrecon.JobRun) bool { return len(rs) > 0 && rs[0].Status != payrecon.RunRunning })
	time.Sleep(500 * time.Millisecond) // a second run would have started by now
	for _, s := range ss {
		stopScheduler(t, s)
	}
	jobs := storetest.Must(e.db.JobRuns(t.Context(), 10))
	runs := storetest.Must(e.db.Runs(t.Context(), 10))
	if len(jobs) != 1 || jobs[0].Status != payrecon.RunOK || len(runs) != 1 || runs[0].Status != payrecon.RunOK {
		t.Fatalf("want one ok job and run of the day:\njobs %+v\nruns %+v", jobs, runs)
	}
}

// TestSchedulerTakesOverADeadHoldersDay: a day whose lease another replica
// holds is left to it (no job recorded); when that holder dies (its lease
// expires unrenewed), the scheduler takes the day over and reconciles it,
// its dead holder's job row notwithstanding.
func TestSchedulerTakesOverADeadHoldersDay(t *testing.T) {
	e := setup(t, sandbox.ServerFaults{})
	e.daily.Now = func() time.Time { return day.Add(36 * time.Hour) }
	e.daily.Opt.LeaseTTL = time.Second
	acct, d := e.sb.ID.Alipay.Account, payrecon.DayOf(day)
	// The dead replica took the lease, recorded its job, and died.
	storetest.Must(e.db.AcquireLease(t.Context(), payrecon.Lease{Account: acct, Day: d, Holder: "4242@dead/1", PID: 4242, Host: "dead", Since: time.Now()}, 2*time.Second))
	storetest.Must(e.db.StartJob(t.Context(), jobs.JobName, acct, d, "catch-up"))
	s := &jobs.Scheduler{Daily: e.daily, Specs: map[string]string{acct: "@every 1h"}, CatchUpDays: 1, Log: e.daily.Log}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer stopScheduler(t, s)
	time.Sleep(time.Second)
	if rs := storetest.Must(e.db.JobRuns(t.Context(), 10)); len(rs) != 1 {
		t.Fatalf("the scheduler ran a day another replica holds: %+v", rs)
	}
	rs := waitRuns(t, e.db, func(rs []payrecon.JobRun) bool { return len(rs) == 2 && rs[0].Status != payrecon.RunRunning })
	if rs[0].Status != payrecon.RunOK || rs[0].Trigger != "takeover" || rs[0].Day != d {
		t.Fatalf("takeover run: %+v", rs[0])
	}
	// The dead replica's job will never finish: the takeover marked it.
	if rs[1].Status != payrecon.RunFailed || !strings.Contains(rs[1].Error, "took the day over") {
		t.Fatalf("the dead holder's job %+v: want failed, saying it was taken over", rs[1])
	}
}

// TestSchedulerLeavesAFinishedDay: when the holder of a day releases its
// lease (it finished, even badly), the watching scheduler does not run
// the day again: the holder's result stands until the next window.
func TestSchedulerLeavesAFinishedDay(t *testing.T) {
	e := setup(t, sandbox.ServerFaults{})
	e.daily.Now = func() time.Time { return day.Add(36 * time.Hour) }
	acct, d := e.sb.ID.Alipay.Account, payrecon.DayOf(day)
	held := storetest.Must(e.db.AcquireLease(t.Context(), payrecon.Lease{Account: acct, Day: d, Holder: "4242@other/1", PID: 4242, Host: "other", Since: time.Now()}, 2*time.Second))
	id := storetest.Must(e.db.StartJob(t.Context(), jobs.JobName, acct, d, "catch-up"))
	s := &jobs.Scheduler{Daily: e.daily, Specs: map[string]string{acct: "@every 1h"}, CatchUpDays: 1, Log: e.daily.Log}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer stopScheduler(t, s)
	time.Sleep(300 * time.Millisecond)
	if err := e.db.FinishJob(t.Context(), id, context.DeadlineExceeded); err != nil {
		t.Fatal(err)
	}
	if err := e.db.ReleaseLease(t.Context(), held); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3500 * time.Millisecond) // past the lease's expiry: the watch woke and looked
	if rs := storetest.Must(e.db.JobRuns(t.Context(), 10)); len(rs) != 1 {
		t.Fatalf("the scheduler re-ran a day its holder finished: %+v", rs)
	}
}

// TestSweepLease: a sweep finds the sweep lease held by another replica
// and checks nothing; once it is free, the sweep checks the due order.
func TestSweepLease(t *testing.T) {
	e := setup(t, sandbox.ServerFaults{})
	now := time.Now()
	s := &jobs.Sweeper{DB: e.db, Leases: e.db, Accounts: e.daily.Accounts, Tiers: jobs.DefaultTiers(), Interval: time.Second, Now: func() time.Time { return now }, Log: e.daily.Log}
	acct := e.sb.ID.Alipay.Account
	register(t, e.db, acct, "NOT-YET", 100, now.Add(-time.Minute), now)
	held := storetest.Must(e.db.AcquireLease(t.Context(), payrecon.Lease{Account: jobs.SweepLeaseAccount, Day: jobs.SweepLeaseDay, Holder: "4242@other/1", PID: 4242, Host: "other", Since: now}, time.Minute))
	if err := s.Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	if due := storetest.Must(e.db.DueOrders(t.Context(), now, 10)); len(due) != 1 || due[0].Checks != 0 {
		t.Fatalf("a sweep ran beside another replica's: %+v", due)
	}
	if err := e.db.ReleaseLease(t.Context(), held); err != nil {
		t.Fatal(err)
	}
	if err := s.Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	if due := storetest.Must(e.db.DueOrders(t.Context(), now, 10)); len(due) != 0 {
		t.Fatalf("the order was not checked once the lease was free: %+v", due)
	}
	// The sweep gave its lease back.
	l := storetest.Must(e.db.AcquireLease(t.Context(), payrecon.Lease{Account: jobs.SweepLeaseAccount, Day: jobs.SweepLeaseDay, Holder: "1@h/1", PID: 1, Host: "h", Since: now}, time.Minute))
	if l.TakenOver {
		t.Fatal("the sweep's lease was left behind")
	}
}

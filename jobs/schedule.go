package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/payrecon/payrecon"
)

// DefaultSchedule runs the daily reconciliation at 10:30 Beijing time, after
// both providers have generated the previous day's bill.
const DefaultSchedule = "CRON_TZ=Asia/Shanghai 30 10 * * *"

// JobName is the name daily reconciliations are recorded under in job_runs.
const JobName = "reconcile"

// Scheduler runs the daily job for each account on its cron schedule and,
// at start, catches up days missed while payrecon was down.
type Scheduler struct {
	Daily *Daily
	// Specs maps account to cron spec (CRON_TZ= prefix allowed).
	Specs map[string]string
	// CatchUpDays is how many past days to check at start (0: none).
	CatchUpDays int
	Log         *slog.Logger

	cron  *cron.Cron
	locks map[string]*sync.Mutex
	wg    sync.WaitGroup
	// mu guards watching (the days whose lease another holder has) and
	// stopped; stop ends the watches.
	mu       sync.Mutex
	watching map[string]bool
	stopped  bool
	stop     chan struct{}
}

// Start schedules the jobs and starts catch-up in the background. The jobs
// run with ctx; Stop waits for running jobs.
func (s *Scheduler) Start(ctx context.Context) error {
	logger := cronLogger{s.Log.With("component", "cron")}
	s.cron = cron.New(cron.WithChain(cron.Recover(logger), cron.SkipIfStillRunning(logger)), cron.WithLogger(logger))
	s.locks = map[string]*sync.Mutex{}
	s.watching, s.stop = map[string]bool{}, make(chan struct{})
	parser := cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
	scheds := map[string]cron.Schedule{}
	for account, spec := range s.Specs {
		sched, err := parser.Parse(spec)
		if err != nil {
			return fmt.Errorf("schedule %s: %q: %w", account, spec, err)
		}
		scheds[account] = sched
		s.locks[account] = &sync.Mutex{}
		account := account
		s.cron.Schedule(sched, cron.FuncJob(func() {
			yesterday := payrecon.DayOf(s.Daily.Now()).AddDays(-1)
			s.runDay(ctx, account, yesterday, "cron")
			// A day that failed on an earlier window is tried again on this one.
			s.catchUpAccount(ctx, account, sched, yesterday, "retry")
		}))
	}
	s.cron.Start()
	if s.CatchUpDays > 0 {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.catchUp(ctx, scheds)
		}()
	}
	return nil
}

// Stop stops scheduling and waits (up to ctx) for running jobs.
func (s *Scheduler) Stop(ctx context.Context) error {
	if s.cron == nil {
		return nil
	}
	done := s.cron.Stop().Done()
	s.mu.Lock()
	if !s.stopped {
		s.stopped = true
		close(s.stop)
	}
	s.mu.Unlock()
	waited := make(chan struct{})
	go func() { <-done; s.wg.Wait(); close(waited) }()
	select {
	case <-waited:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop scheduler: %w", ctx.Err())
	}
}

// catchUp runs, oldest first, every day within CatchUpDays whose bill was
// due (its schedule fired since) and that has no successful run.
func (s *Scheduler) catchUp(ctx context.Context, scheds map[string]cron.Schedule) {
	today := payrecon.DayOf(s.Daily.Now())
	for account, sched := range scheds {
		s.catchUpAccount(ctx, account, sched, today, "catch-up")
	}
}

// catchUpAccount runs, oldest first, each day of the account within
// CatchUpDays and before the day before that is due and has no successful
// run, recorded under trigger.
func (s *Scheduler) catchUpAccount(ctx context.Context, account string, sched cron.Schedule, before payrecon.Day, trigger string) {
	now := s.Daily.Now()
	done, err := s.Daily.DB.SucceededDays(ctx, JobName, account)
	if err != nil {
		s.Log.Error("catch-up failed", "account", account, "err", err)
		return
	}
	for i := s.CatchUpDays; i >= 1; i-- {
		day := payrecon.DayOf(now).AddDays(-i)
		// The day's job is due once its schedule has fired after the day ended.
		if !day.Before(before) || done[day] || sched.Next(day.End()).After(now) {
			continue
		}
		if ctx.Err() != nil {
			return
		}
		s.runDay(ctx, account, day, trigger)
	}
}

// runDay runs one reconciliation, recording it in job_runs. One account
// never runs two days at once in a process, and one day runs once across
// the replicas sharing the ledger: the day's lease decides. A day another
// run holds is left to it (no job recorded, no alert) and watched: if its
// holder dies, the lease expires and this replica takes the day over. A
// day already reconciled successfully (by any replica) is not run again. A
// day before the account went live is not reconciled on a schedule (only by
// hand, with -backfill).
func (s *Scheduler) runDay(ctx context.Context, account string, day payrecon.Day, trigger string) {
	if held := s.attempt(ctx, account, day, trigger, false); held != nil {
		s.watch(ctx, account, day, *held)
	}
}

// attempt runs the day unless it is before go-live, done, or leased by
// another holder (returned). With takeoverOnly it runs the day only if it
// took over an expired lease: a lease released meanwhile means its holder
// finished the day (well or not), and that result stands until the next
// window, as on one replica.
func (s *Scheduler) attempt(ctx context.Context, account string, day payrecon.Day, trigger string, takeoverOnly bool) *payrecon.Lease {
	mu := s.locks[account]
	mu.Lock()
	defer mu.Unlock()
	log := s.Log.With("job", JobName, "account", account, "bill_date", day.String(), "trigger", trigger)
	if live, ok, err := s.Daily.GoLive(ctx, account); err != nil {
		log.Error("job not run: go-live unknown", "err", err)
		return nil
	} else if ok && day.Before(payrecon.DayOf(live)) {
		log.Debug("job skipped: the day is before go-live", "go_live", live)
		return nil
	}
	lctx, lease, release, err := s.Daily.TakeLease(ctx, account, day)
	if held, ok := errors.AsType[*payrecon.LeaseHeldError](err); ok {
		log.Info("job left to another run", "holder", held.Lease.Holder, "pid", held.Lease.PID, "host", held.Lease.Host)
		return &held.Lease
	}
	if err != nil {
		log.Error("job not run: lease", "err", err)
		return nil
	}
	defer release()
	if takeoverOnly && !lease.TakenOver {
		log.Debug("job finished by another run")
		return nil
	}
	if done, err := s.Daily.DB.SucceededDays(lctx, JobName, account); err != nil {
		log.Error("job not run: history", "err", err)
		return nil
	} else if done[day] {
		log.Debug("job already done by another run")
		return nil
	}
	if lease.TakenOver {
		trigger = "takeover"
		log = log.With("trigger", trigger)
		// The holder let its lease expire: its runs of the day will never end.
		if n, err := s.Daily.DB.MarkTakenOverRuns(lctx, account, day, time.Now(), ""); err != nil {
			log.Warn("runs of the dead holder not marked", "err", err)
		} else if n > 0 {
			log.Info("runs of the dead holder marked failed", "runs", n)
		}
	}
	id, err := s.Daily.DB.StartJob(lctx, JobName, account, day, trigger)
	if err != nil {
		log.Error("job not recorded", "err", err)
		return nil
	}
	start := time.Now()
	_, runErr := s.Daily.Run(lctx, account, day, RunOptions{Trigger: trigger, Leased: true})
	if err := s.Daily.DB.FinishJob(context.WithoutCancel(ctx), id, runErr); err != nil {
		log.Error("job end not recorded", "err", err)
	}
	if runErr != nil {
		log.Error("job failed", "duration", time.Since(start), "err", runErr)
		return nil
	}
	log.Info("job done", "duration", time.Since(start))
	return nil
}

// watch waits, in the background, for another holder's lease of the day
// to end, and takes the day over if that holder let it expire. A day is
// watched once at a time; the watch ends with ctx or Stop.
func (s *Scheduler) watch(ctx context.Context, account string, day payrecon.Day, held payrecon.Lease) {
	key := account + "/" + day.String()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.watching[key] || s.stopped {
		return
	}
	s.watching[key] = true
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() { s.mu.Lock(); delete(s.watching, key); s.mu.Unlock() }()
		for next := &held; next != nil; {
			// Wake just after the lease would expire unrenewed.
			t := time.NewTimer(min(max(time.Until(next.ExpiresAt)+time.Second, time.Second), s.leaseTTL()+time.Second))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-s.stop:
				t.Stop()
				return
			case <-t.C:
			}
			next = s.attempt(ctx, account, day, "takeover", true)
		}
	}()
}

func (s *Scheduler) leaseTTL() time.Duration {
	if ttl := s.Daily.Opt.LeaseTTL; ttl > 0 {
		return ttl
	}
	return DefaultLeaseTTL
}

// cronLogger adapts slog to cron.Logger.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug(msg, kv...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error(msg, append(kv, "err", err)...)
}

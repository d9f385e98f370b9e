package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/archive"
)

// ErrBeforeGoLive is returned for a day before the account went live when
// the run was not asked to backfill it: payrecon was not receiving that
// day's notifications, so every trade would read as a dropped callback.
var ErrBeforeGoLive = errors.New("the day is before the account went live")

// DefaultLeaseTTL is how long a run's lease lasts without renewal; a run
// renews it every third of that. When the replica holding it dies, another
// takes the work over within about this long.
const DefaultLeaseTTL = 30 * time.Second

// goLiveLedger is what the jobs read about go-live and the run leases.
type goLiveLedger interface {
	// GoLive returns when the account went live (payrecon.ErrNotFound:
	// never recorded).
	GoLive(ctx context.Context, account string) (time.Time, error)
	// AcquireLease takes the (account, day) for l.Holder, or returns a
	// *payrecon.LeaseHeldError naming the holder of an unexpired lease.
	AcquireLease(ctx context.Context, l payrecon.Lease, ttl time.Duration) (payrecon.Lease, error)
	// RenewLease and ReleaseLease return payrecon.ErrLeaseLost when the
	// holder no longer holds it.
	RenewLease(ctx context.Context, l payrecon.Lease, ttl time.Duration) (payrecon.Lease, error)
	ReleaseLease(ctx context.Context, l payrecon.Lease) error
}

// GoLive is when account went live: reconcile.start_date (its start, in
// Beijing time) when configured, else serve's first start recorded in the
// ledger; ok is false when neither is known (then no day is "before").
func (d *Daily) GoLive(ctx context.Context, account string) (at time.Time, ok bool, err error) {
	if !d.Opt.StartDate.IsZero() {
		return d.Opt.StartDate.Start(), true, nil
	}
	at, err = d.DB.GoLive(ctx, account)
	if errors.Is(err, payrecon.ErrNotFound) {
		return time.Time{}, false, nil
	}
	return at, err == nil, err
}

// checkGoLive returns the account's go-live instant (zero when unknown),
// or ErrBeforeGoLive for a day before the go-live day unless o.Backfill.
func (d *Daily) checkGoLive(ctx context.Context, account string, day payrecon.Day, o RunOptions) (time.Time, error) {
	at, ok, err := d.GoLive(ctx, account)
	if err != nil || !ok {
		return time.Time{}, err
	}
	if live := payrecon.DayOf(at); day.Before(live) && !o.Backfill {
		return at, fmt.Errorf("%w (%s): payrecon was not receiving its notifications yet, so every trade would read as a dropped callback; "+
			"run with -backfill to reconcile it anyway (its trades are then BEFORE_START, backfilled from the bill)", ErrBeforeGoLive, at.In(d.loc()).Format("2006-01-02 15:04 MST"))
	}
	return at, nil
}

func (d *Daily) loc() *time.Location {
	if d.Opt.Loc != nil {
		return d.Opt.Loc
	}
	return payrecon.ShanghaiFixed
}

// beforeStart turns a bill row the ledger lacks that happened before
// go-live into BEFORE_START: no callback was dropped, payrecon was not
// live yet.
func (r *run) beforeStart(it payrecon.Discrepancy) payrecon.Discrepancy {
	if r.goLive.IsZero() || it.Code != payrecon.MissingLocal || !it.HasBill || !it.BillAt.Before(r.goLive) {
		return it
	}
	it.Code = payrecon.BeforeStart
	it.Note = "before go-live " + r.goLive.In(r.loc()).Format("2006-01-02 15:04 MST") + ": backfilled from the bill, not a dropped callback"
	return it
}

// sourceOf is how the ledger learns an item a repair adds: from the bill
// for one before go-live, else from the active query.
func sourceOf(it payrecon.Discrepancy) payrecon.Source {
	if it.Code == payrecon.BeforeStart {
		return payrecon.SourceBill
	}
	return payrecon.SourceQuery
}

// takeLease takes the run lease of (account, day) for this run, or fails
// at once with a *payrecon.LeaseHeldError naming who holds it (its Since
// in the display zone). See [holdLease].
func (d *Daily) takeLease(ctx context.Context, account string, day payrecon.Day) (context.Context, payrecon.Lease, func(), error) {
	ctx, l, release, err := holdLease(ctx, d.DB, account, day, d.Opt.LeaseTTL, d.Now, d.Log)
	if held, ok := errors.AsType[*payrecon.LeaseHeldError](err); ok {
		held.Lease.Since = held.Lease.Since.In(d.loc())
		return ctx, l, nil, held
	}
	return ctx, l, release, err
}

// TakeLease takes the run lease of (account, day) for a caller that runs
// the day with [RunOptions.Leased] (the scheduler, which must know whether
// another replica holds the day before it records a job): the returned
// context ends if the lease is lost; release gives it up. Another
// holder's unexpired lease is a *payrecon.LeaseHeldError.
func (d *Daily) TakeLease(ctx context.Context, account string, day payrecon.Day) (context.Context, payrecon.Lease, func(), error) {
	return d.takeLease(ctx, account, day)
}

// leaser takes, renews and gives up leases. *store.DB satisfies it.
type leaser interface {
	AcquireLease(ctx context.Context, l payrecon.Lease, ttl time.Duration) (payrecon.Lease, error)
	RenewLease(ctx context.Context, l payrecon.Lease, ttl time.Duration) (payrecon.Lease, error)
	ReleaseLease(ctx context.Context, l payrecon.Lease) error
}

// holdLease takes the lease of (account, day) for a new holder
// (pid@host/nanos-random) for ttl (0: [DefaultLeaseTTL]) and renews it every third
// of ttl while the work lasts. A renewal that fails for another reason than
// the lease being lost (the database restarting) is tried again on the
// next tick until the lease would have expired. The returned context ends,
// with cause [payrecon.ErrLeaseLost], when the lease is lost; release
// stops renewing and gives the lease up.
func holdLease(ctx context.Context, db leaser, account string, day payrecon.Day, ttl time.Duration, now func() time.Time, log *slog.Logger) (context.Context, payrecon.Lease, func(), error) {
	if ttl <= 0 {
		ttl = DefaultLeaseTTL
	}
	host, _ := os.Hostname()
	at := now()
	l, err := db.AcquireLease(ctx, payrecon.Lease{Account: account, Day: day, PID: os.Getpid(), Host: host, Since: at,
		Holder: fmt.Sprintf("%d@%s/%d-%x", os.Getpid(), host, at.UnixNano(), rand.Uint32())}, ttl)
	if err != nil {
		return ctx, l, nil, err
	}
	lctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	cur := l
	go func() {
		defer close(done)
		t := time.NewTicker(ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-lctx.Done():
				return
			case <-t.C:
			}
			next, err := db.RenewLease(lctx, cur, ttl)
			switch {
			case err == nil:
				cur = next
			case lctx.Err() != nil:
				return
			case errors.Is(err, payrecon.ErrLeaseLost) || !now().Before(cur.ExpiresAt):
				log.Error("lease not renewed", "account", account, "bill_date", day.String(), "err", err)
				if !errors.Is(err, payrecon.ErrLeaseLost) {
					err = fmt.Errorf("%w: %w", payrecon.ErrLeaseLost, err)
				}
				cancel(err)
				return
			default:
				log.Warn("lease renewal failed, retrying", "account", account, "bill_date", day.String(), "err", err)
			}
		}
	}()
	release := func() {
		cancel(nil)
		<-done
		if err := db.ReleaseLease(context.WithoutCancel(lctx), cur); err != nil {
			log.Error("lease not released", "account", account, "bill_date", day.String(), "err", err)
		}
	}
	return lctx, l, release, nil
}

// checkImport refuses a bill file imported by hand that is not the
// account's bill of day, before anything is archived or recorded.
func (d *Daily) checkImport(acct Account, day payrecon.Day, file string) error {
	b := &archive.Bills{MaxBytes: d.Opt.BillMaxBytes, MaxRatio: d.Opt.BillMaxRatio}
	return b.CheckImport(file, archive.Expect{Account: acct.Name, Provider: acct.Provider, Day: day, Merchant: acct.MerchantID, AppIDs: acct.AppIDs})
}

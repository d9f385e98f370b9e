package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider"
)

// Tier is one step of the sweep schedule: while an order is younger than
// Until, it is checked every Every.
type Tier struct {
	Every, Until time.Duration
}

// DefaultTiers is the sweep schedule: every minute for the first 10 minutes, every 10 minutes to
// an hour, hourly to a day.
func DefaultTiers() []Tier {
	return []Tier{{time.Minute, 10 * time.Minute}, {10 * time.Minute, time.Hour}, {time.Hour, 24 * time.Hour}}
}

// orderLedger is what the sweep reads and writes. *store.DB satisfies it.
type orderLedger interface {
	DueOrders(ctx context.Context, now time.Time, limit int) ([]payrecon.ExpectedOrder, error)
	UpdateOrder(ctx context.Context, account, outTradeNo string, status payrecon.OrderStatus, next time.Time, result string) error
	ApplyQuery(ctx context.Context, r payrecon.Repair, ev *payrecon.Event) (bool, error)
}

// Sweeper catches a dropped callback the same day: every order the
// merchant registered and that has no paid notification is queried on a
// tiered schedule, and recovered (ledger backfilled, source=query, audit
// row) when the provider confirms it; after the last tier it is left
// expired for the next day's workbook.
type Sweeper struct {
	DB       orderLedger
	Accounts map[string]Account
	Tiers    []Tier
	Interval time.Duration // how often due orders are looked for
	Now      func() time.Time
	Log      *slog.Logger
	// Leases, when set, makes one sweep at a time run across the
	// replicas sharing the ledger: a sweep takes the sweep lease
	// ([SweepLeaseAccount]) for LeaseTTL (0: [DefaultLeaseTTL]), and a
	// replica that finds it held skips its turn.
	Leases   leaser
	LeaseTTL time.Duration
}

// SweepLeaseAccount and SweepLeaseDay name the sweep's lease among the run
// leases: no account name starts with "@", and no bill is that old.
const SweepLeaseAccount = "@sweep"

// SweepLeaseDay is the pseudo-day of the sweep's lease.
var SweepLeaseDay = payrecon.DayOf(time.Date(2000, 1, 1, 12, 0, 0, 0, time.UTC))

// NextCheck returns when an order created at created should next be
// checked, or false when it is past the last tier.
func (s *Sweeper) NextCheck(created, now time.Time) (time.Time, bool) {
	age := now.Sub(created)
	for _, t := range s.Tiers {
		if age < t.Until {
			return now.Add(t.Every), true
		}
	}
	return time.Time{}, false
}

// Run sweeps every Interval until ctx ends.
func (s *Sweeper) Run(ctx context.Context) {
	t := time.NewTicker(s.Interval)
	defer t.Stop()
	for {
		if err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.Log.Warn("sweep failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sweep checks the orders that are due, unless another replica is
// sweeping (then it does nothing).
func (s *Sweeper) Sweep(ctx context.Context) error {
	if s.Leases != nil {
		lctx, _, release, err := holdLease(ctx, s.Leases, SweepLeaseAccount, SweepLeaseDay, s.LeaseTTL, s.Now, s.Log)
		if errors.Is(err, payrecon.ErrRunLeased) {
			s.Log.Debug("sweep left to another replica", "job", "sweep")
			return nil
		}
		if err != nil {
			return fmt.Errorf("sweep: %w", err)
		}
		defer release()
		ctx = lctx
	}
	now := s.Now()
	due, err := s.DB.DueOrders(ctx, now, 200)
	if err != nil {
		return err
	}
	for _, o := range due {
		if err := s.check(ctx, o, now); err != nil {
			return err
		}
	}
	return nil
}

func (s *Sweeper) check(ctx context.Context, o payrecon.ExpectedOrder, now time.Time) error {
	log := s.Log.With("job", "sweep", "account", o.Account, "out_trade_no", o.OutTradeNo)
	if o.LedgerStatus == payrecon.StatusPaid || o.LedgerStatus == payrecon.StatusRefunded {
		return s.DB.UpdateOrder(ctx, o.Account, o.OutTradeNo, payrecon.OrderPaid, now, "notified")
	}
	acct, ok := s.Accounts[o.Account]
	if !ok {
		return s.DB.UpdateOrder(ctx, o.Account, o.OutTradeNo, payrecon.OrderExpired, now, "unknown account")
	}
	q, err := acct.Client.QueryPayment(ctx, o.OutTradeNo, "")
	result := q.Evidence
	paid := err == nil && q.Event != nil && (q.Event.Status == payrecon.StatusPaid || q.Event.Status == payrecon.StatusRefunded)
	switch {
	case paid:
		if _, err := s.DB.ApplyQuery(ctx, payrecon.Repair{Account: o.Account, Provider: acct.Provider, Day: payrecon.DayOf(q.Event.PaidAt),
			Reason: "same-day sweep: registered order without a notification", Evidence: q.Evidence}, q.Event); err != nil {
			return err
		}
		log.Info("sweep recovered a dropped callback", "checks", o.Checks+1)
		return s.DB.UpdateOrder(ctx, o.Account, o.OutTradeNo, payrecon.OrderRecovered, now, result)
	case errors.Is(err, provider.ErrNotFound):
		result = "not at the provider yet"
	case err != nil:
		result = "query failed: " + err.Error()
	case q.State != "":
		result = "provider says " + q.State
	}
	next, ok := s.NextCheck(o.CreatedAt, now)
	if !ok {
		log.Info("sweep gave up on an order", "result", result)
		return s.DB.UpdateOrder(ctx, o.Account, o.OutTradeNo, payrecon.OrderExpired, now, result)
	}
	return s.DB.UpdateOrder(ctx, o.Account, o.OutTradeNo, payrecon.OrderWaiting, next, fmt.Sprintf("%s (check %d)", result, o.Checks+1))
}

package payrecon

import (
	"errors"
	"fmt"
	"time"
)

// Going live. An account goes live when payrecon starts receiving its
// notifications: the first start of `serve` on the ledger (recorded per
// account), or the date `reconcile.start_date` declares. Before that
// instant a trade the ledger lacks is no dropped callback: the
// reconciliation calls it [BeforeStart], backfills it from the bill
// (source=bill, state RECOVERED) and leaves it out of callback health and
// of the alerts. Days before the go-live day are reconciled only when
// asked to (-backfill).

// ErrRunLeased is returned when another run holds the (account, day):
// see [LeaseHeldError] for who.
var ErrRunLeased = errors.New("the day is being reconciled by another run")

// ErrLeaseLost is returned when renewing or releasing a lease the holder
// no longer holds (it expired and another run took it over).
var ErrLeaseLost = errors.New("run lease lost")

// Lease is the right of one run to reconcile an (account, bill day): a row
// in the ledger, renewed while the run lasts, taken over once expired.
type Lease struct {
	Account string
	Day     Day
	// Holder is unique per acquisition ("pid@host/nanos-random"): two
	// runs of one process are two holders.
	Holder    string
	PID       int
	Host      string
	Since     time.Time
	ExpiresAt time.Time
	// TakenOver is set on an acquisition that took over another
	// holder's expired lease (that holder died or stalled), not a free
	// one.
	TakenOver bool
}

// LeaseHeldError says who holds the (account, day) another run asked for.
// It wraps [ErrRunLeased].
type LeaseHeldError struct{ Lease Lease }

func (e *LeaseHeldError) Error() string {
	l := e.Lease
	return fmt.Sprintf("account %s day %s is being reconciled by pid %d on %s since %s", l.Account, l.Day, l.PID, l.Host,
		l.Since.Format("2006-01-02 15:04:05 MST"))
}

// Unwrap makes errors.Is(err, ErrRunLeased) hold.
func (e *LeaseHeldError) Unwrap() error { return ErrRunLeased }

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/payrecon/payrecon"
)

// MarkGoLive records that account goes live at at, or at its first
// received notification if that is earlier, unless the account already
// went live; it returns the recorded instant. serve calls it on every
// start, so only the first start counts.
func (db *DB) MarkGoLive(ctx context.Context, account string, at time.Time) (time.Time, error) {
	err := db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		if err := lockKey(ctx, tx, "golive/"+account); err != nil {
			return err
		}
		var first sql.NullString
		if err := tx.GetContext(ctx, &first, `SELECT min(received_at) FROM notifications WHERE account = ?`, account); err != nil {
			return err
		}
		start := fmtTime(at)
		if first.Valid && first.String < start { // both UTC in one fixed layout: text order is time order
			start = first.String
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO golive (account, at) VALUES (?, ?) ON CONFLICT (account) DO NOTHING`, account, start)
		return err
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("mark go-live %s: %w", account, err)
	}
	return db.GoLive(ctx, account)
}

// GoLive returns when account went live, or [ErrNotFound] when serve
// never started for it.
func (db *DB) GoLive(ctx context.Context, account string) (time.Time, error) {
	var at string
	err := db.read.GetContext(ctx, &at, `SELECT at FROM golive WHERE account = ?`, account)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, fmt.Errorf("go-live %s: %w", account, ErrNotFound)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("go-live %s: %w", account, err)
	}
	return parseTime(at)
}

type leaseRow struct {
	Account   string `db:"account"`
	Date      string `db:"bill_date"`
	Holder    string `db:"holder"`
	PID       int    `db:"pid"`
	Host      string `db:"host"`
	Since     string `db:"since"`
	ExpiresAt string `db:"expires_at"`
}

func (r leaseRow) lease() (payrecon.Lease, error) {
	l := payrecon.Lease{Account: r.Account, Holder: r.Holder, PID: r.PID, Host: r.Host}
	var err error
	if l.Day, err = payrecon.ParseDay(r.Date); err != nil {
		return l, err
	}
	if l.Since, err = parseTime(r.Since); err != nil {
		return l, err
	}
	l.ExpiresAt, err = parseTime(r.ExpiresAt)
	return l, err
}

// AcquireLease takes the run lease of (l.Account, l.Day) for l.Holder
// until ttl from now. When another holder's lease has not expired it
// returns a [*payrecon.LeaseHeldError] (errors.Is [payrecon.ErrRunLeased])
// naming that holder; an expired lease is taken over (the returned lease
// says TakenOver).
func (db *DB) AcquireLease(ctx context.Context, l payrecon.Lease, ttl time.Duration) (payrecon.Lease, error) {
	err := db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		if err := lockKey(ctx, tx, "lease/"+l.Account+"/"+l.Day.String()); err != nil {
			return err
		}
		now := db.opt.Now()
		var cur leaseRow
		err := tx.GetContext(ctx, &cur, `SELECT * FROM run_leases WHERE account = ? AND bill_date = ?`, l.Account, l.Day.String())
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		default:
			held, err := cur.lease()
			if err != nil {
				return err
			}
			if held.Holder != l.Holder && held.ExpiresAt.After(now) {
				return &payrecon.LeaseHeldError{Lease: held}
			}
			if held.Holder != l.Holder {
				l.TakenOver = true
				db.log.Warn("run lease taken over", "account", l.Account, "bill_date", l.Day.String(), "holder", held.Holder, "pid", held.PID, "host", held.Host)
			}
		}
		l.ExpiresAt = now.Add(ttl)
		_, err = tx.ExecContext(ctx, `INSERT INTO run_leases (account, bill_date, holder, pid, host, since, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (account, bill_date) DO UPDATE SET holder = excluded.holder, pid = excluded.pid, host = excluded.host,
				since = excluded.since, expires_at = excluded.expires_at`,
			l.Account, l.Day.String(), l.Holder, l.PID, l.Host, fmtTime(l.Since), fmtTime(l.ExpiresAt))
		return err
	})
	if err != nil {
		return payrecon.Lease{}, fmt.Errorf("acquire lease %s %s: %w", l.Account, l.Day, err)
	}
	return l, nil
}

// RenewLease extends l.Holder's lease to ttl from now, or returns
// [payrecon.ErrLeaseLost] when the holder no longer holds it.
func (db *DB) RenewLease(ctx context.Context, l payrecon.Lease, ttl time.Duration) (payrecon.Lease, error) {
	err := db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		l.ExpiresAt = db.opt.Now().Add(ttl)
		return leaseExec(ctx, tx, `UPDATE run_leases SET expires_at = ? WHERE account = ? AND bill_date = ? AND holder = ?`,
			fmtTime(l.ExpiresAt), l.Account, l.Day.String(), l.Holder)
	})
	if err != nil {
		return l, fmt.Errorf("renew lease %s %s: %w", l.Account, l.Day, err)
	}
	return l, nil
}

// ReleaseLease gives up l.Holder's lease, or returns
// [payrecon.ErrLeaseLost] when the holder no longer held it.
func (db *DB) ReleaseLease(ctx context.Context, l payrecon.Lease) error {
	err := db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		return leaseExec(ctx, tx, `DELETE FROM run_leases WHERE account = ? AND bill_date = ? AND holder = ?`, l.Account, l.Day.String(), l.Holder)
	})
	if err != nil {
		return fmt.Errorf("release lease %s %s: %w", l.Account, l.Day, err)
	}
	return nil
}

// leaseExec runs a statement on the holder's lease row: none touched
// means the lease was lost.
func leaseExec(ctx context.Context, tx *sqlx.Tx, query string, args ...any) error {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return payrecon.ErrLeaseLost
	}
	return nil
}

package store

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/payrecon/payrecon"
)

// ReleaseDeadLeases gives up every run lease whose holder alive says is
// gone (a process killed mid-run holds its lease until it expires), so the
// next run of that day need not wait out the expiry. It returns how many
// it released. alive must err towards alive: a lease it cannot judge (a
// replica on another host) is left to expire.
func (db *DB) ReleaseDeadLeases(ctx context.Context, alive func(payrecon.Lease) bool) (int, error) {
	var rows []leaseRow
	if err := db.read.SelectContext(ctx, &rows, `SELECT * FROM run_leases ORDER BY account, bill_date`); err != nil {
		return 0, fmt.Errorf("release dead leases: %w", err)
	}
	var dead []payrecon.Lease
	for _, r := range rows {
		l, err := r.lease()
		if err != nil {
			return 0, fmt.Errorf("release dead leases: %w", err)
		}
		if !alive(l) {
			dead = append(dead, l)
		}
	}
	released := 0
	err := db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		released = 0
		for _, l := range dead {
			res, err := tx.ExecContext(ctx, `DELETE FROM run_leases WHERE account = ? AND bill_date = ? AND holder = ?`, l.Account, l.Day.String(), l.Holder)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			released += int(n)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("release dead leases: %w", err)
	}
	if released > 0 {
		db.log.Info("released run leases of dead processes", "leases", released)
	}
	return released, nil
}

package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/payrecon/payrecon"
)

// ClaimDeliveries is [DB.DueDeliveries] for a delivery worker that may
// share the ledger with other replicas' workers. On PostgreSQL it claims
// what it returns: in one transaction it locks the due heads no other
// worker is claiming (FOR UPDATE SKIP LOCKED) and moves their next_at to
// now+lease, so each delivery is attempted by one worker at a time and a
// stream stays in order across workers. Recording the attempt ends the
// claim; a claim never recorded (its worker died) lapses after lease and
// another worker takes the delivery. On SQLite, which one serve holds, it
// is DueDeliveries.
func (db *DB) ClaimDeliveries(ctx context.Context, now time.Time, busy map[string]bool, limit int, lease time.Duration) ([]payrecon.Delivery, error) {
	if !db.pg {
		return db.DueDeliveries(ctx, now, busy, limit)
	}
	var rows []dueRow
	err := db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		rows = rows[:0]
		q, args := dueQuery(now, busy, limit, " FOR UPDATE OF d SKIP LOCKED")
		if err := tx.SelectContext(ctx, &rows, q, args...); err != nil {
			return err
		}
		until := fmtTime(now.Add(lease))
		for _, r := range rows {
			if _, err := tx.ExecContext(ctx, `UPDATE event_deliveries SET next_at = ? WHERE endpoint = ? AND seq = ?`, until, r.Endpoint, r.Seq); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	return dueDeliveries(rows)
}

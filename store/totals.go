package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/payrecon/payrecon"
)

// LedgerTotals counts and sums what the ledger holds for [from, to): the
// trades PAID or REFUNDED whose payment time falls in it, and the refunds
// SUCCESS whose refund time falls in it. The ledger records no fees, so
// FeesFen is zero. This is the ledger column of a day's tie-out; the diff
// counts a day's ledger side by the same rule.
func (db *DB) LedgerTotals(ctx context.Context, account string, from, to time.Time) (payrecon.Totals, error) {
	var t payrecon.Totals
	err := db.read.QueryRowxContext(ctx, `SELECT
		(SELECT count(*) FROM trades WHERE account = ? AND status IN ('PAID','REFUNDED') AND paid_at >= ? AND paid_at < ?),
		(SELECT COALESCE(sum(COALESCE(amount_fen, 0)), 0) FROM trades WHERE account = ? AND status IN ('PAID','REFUNDED') AND paid_at >= ? AND paid_at < ?),
		(SELECT count(*) FROM refunds WHERE account = ? AND status = 'SUCCESS' AND refunded_at >= ? AND refunded_at < ?),
		(SELECT COALESCE(sum(amount_fen), 0) FROM refunds WHERE account = ? AND status = 'SUCCESS' AND refunded_at >= ? AND refunded_at < ?)`,
		account, fmtTime(from), fmtTime(to), account, fmtTime(from), fmtTime(to),
		account, fmtTime(from), fmtTime(to), account, fmtTime(from), fmtTime(to)).Scan(&t.Payments, &t.PaymentsFen, &t.Refunds, &t.RefundsFen)
	if err != nil {
		return t, fmt.Errorf("ledger totals: %w", err)
	}
	return t.Settle(), nil
}

// SaveRunTotals records how run id's day ties out.
func (db *DB) SaveRunTotals(ctx context.Context, id int64, t payrecon.TieOut) error {
	b, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("save run totals: %w", err)
	}
	err = db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE recon_runs SET totals = ? WHERE id = ?`, string(b), id)
		return err
	})
	if err != nil {
		return fmt.Errorf("save run totals: %w", err)
	}
	return nil
}

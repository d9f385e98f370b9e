package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/payrecon/payrecon"
)

// ApplyQuery applies what an active provider query established to the
// ledger (source=query, or r.Source) and writes one audit row per changed field, in one
// transaction. It returns whether anything changed: applying the same
// result again changes nothing and writes no audit row.
func (db *DB) ApplyQuery(ctx context.Context, r payrecon.Repair, ev *payrecon.Event) (bool, error) {
	changed := false
	err := db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		changed = false
		now := db.opt.Now()
		if err := lockKey(ctx, tx, tradeKey(r.Account, ev.OutTradeNo)); err != nil {
			return err
		}
		beforeT, _ := snapshotTrade(ctx, tx, r.Account, ev.OutTradeNo)
		var beforeR map[string]string
		if ev.Refund != nil {
			beforeR, _ = snapshotRefund(ctx, tx, r.Account, ev.Refund.OutRefundNo)
		}
		src := cmp.Or(r.Source, payrecon.SourceQuery)
		ref := fmt.Sprintf("%s:run:%d", src, r.RunID)
		a, err := applyEvent(ctx, tx, r.Account, r.Provider, ev, src, ref, now)
		if err != nil {
			return err
		}
		afterT, _ := snapshotTrade(ctx, tx, r.Account, ev.OutTradeNo)
		n, err := writeAudit(ctx, tx, r, now, "trade:"+ev.OutTradeNo, beforeT, afterT)
		if err != nil {
			return err
		}
		changed = n > 0
		if ev.Refund != nil {
			afterR, _ := snapshotRefund(ctx, tx, r.Account, ev.Refund.OutRefundNo)
			n, err := writeAudit(ctx, tx, r, now, "refund:"+ev.Refund.OutRefundNo, beforeR, afterR)
			if err != nil {
				return err
			}
			changed = changed || n > 0
		}
		if !changed {
			return nil // a query that confirms the ledger is not a ledger event
		}
		return recordApplied(ctx, tx, r.Account, a, src, ref, now)
	})
	if err != nil {
		return false, fmt.Errorf("apply query: %w", err)
	}
	return changed, nil
}

var auditedTradeFields = []string{"status", "amount_fen", "refunded_fen", "paid_at", "provider_trade_no"}
var auditedRefundFields = []string{"status", "amount_fen", "refunded_at", "provider_refund_no"}

func snapshotTrade(ctx context.Context, tx *sqlx.Tx, account, outTradeNo string) (map[string]string, error) {
	var t tradeRow
	if err := tx.GetContext(ctx, &t, `SELECT * FROM trades WHERE account = ? AND out_trade_no = ?`, account, outTradeNo); err != nil {
		return nil, err
	}
	return map[string]string{"status": t.Status, "amount_fen": nullInt(t.AmountFen), "refunded_fen": fmt.Sprint(t.RefundedFen),
		"paid_at": t.PaidAt.String, "provider_trade_no": t.ProviderTradeNo}, nil
}

func snapshotRefund(ctx context.Context, tx *sqlx.Tx, account, outRefundNo string) (map[string]string, error) {
	var r storedRefund
	if err := tx.GetContext(ctx, &r, `SELECT * FROM refunds WHERE account = ? AND out_refund_no = ?`, account, outRefundNo); err != nil {
		return nil, err
	}
	return map[string]string{"status": r.Status, "amount_fen": fmt.Sprint(r.AmountFen), "refunded_at": r.RefundedAt.String,
		"provider_refund_no": r.ProviderRefundNo}, nil
}

func nullInt(v sql.NullInt64) string {
	if !v.Valid {
		return ""
	}
	return fmt.Sprint(v.Int64)
}

func writeAudit(ctx context.Context, tx *sqlx.Tx, r payrecon.Repair, now time.Time, object string, before, after map[string]string) (int, error) {
	fields := auditedTradeFields
	if len(object) > 7 && object[:7] == "refund:" {
		fields = auditedRefundFields
	}
	n := 0
	for _, f := range fields {
		old, neu := before[f], after[f]
		if before == nil {
			old = "(absent)"
		}
		if old == neu {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit (at, account, bill_date, run_id, object, field, old_value, new_value, reason, evidence)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, fmtTime(now), r.Account, r.Day.String(), r.RunID, object, f, old, neu, r.Reason, r.Evidence); err != nil {
			return n, fmt.Errorf("write audit: %w", err)
		}
		n++
	}
	return n, nil
}

type auditRow struct {
	At       string        `db:"at"`
	Account  string        `db:"account"`
	Date     string        `db:"bill_date"`
	RunID    sql.NullInt64 `db:"run_id"`
	Object   string        `db:"object"`
	Field    string        `db:"field"`
	OldValue string        `db:"old_value"`
	NewValue string        `db:"new_value"`
	Reason   string        `db:"reason"`
	Evidence string        `db:"evidence"`
	Operator string        `db:"operator"`
	Remark   string        `db:"remark"`
}

const auditColumns = `at, account, bill_date, run_id, object, field, old_value, new_value, reason, evidence, operator, remark`

func (r auditRow) entry() (payrecon.AuditEntry, error) {
	e := payrecon.AuditEntry{Account: r.Account, RunID: r.RunID.Int64, Object: r.Object, Field: r.Field,
		OldValue: r.OldValue, NewValue: r.NewValue, Reason: r.Reason, Evidence: r.Evidence,
		Operator: r.Operator, Remark: r.Remark}
	var err error
	if e.At, err = parseTime(r.At); err != nil {
		return e, err
	}
	e.Day, err = payrecon.ParseDay(r.Date)
	return e, err
}

// Audit lists the repairs made on an account, oldest first.
func (db *DB) Audit(ctx context.Context, account string) ([]payrecon.AuditEntry, error) {
	var rows []auditRow
	err := db.read.SelectContext(ctx, &rows, `SELECT `+auditColumns+` FROM audit WHERE account = ? ORDER BY id`, account)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return convert(rows, auditRow.entry, "audit")
}

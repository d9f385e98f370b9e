package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/payrecon/payrecon"
)

type discrepancyRow struct {
	RunID           int64         `db:"run_id"`
	Code            string        `db:"code"`
	Kind            string        `db:"kind"`
	OutTradeNo      string        `db:"out_trade_no"`
	ProviderTradeNo string        `db:"provider_trade_no"`
	OutRefundNo     string        `db:"out_refund_no"`
	BillFen         sql.NullInt64 `db:"bill_fen"`
	LedgerFen       sql.NullInt64 `db:"ledger_fen"`
	LedgerStatus    string        `db:"ledger_status"`
	Note            string        `db:"note"`
	QueryResult     string        `db:"query_result"`
	Resolution      string        `db:"resolution"`
	ResolvedRunID   sql.NullInt64 `db:"resolved_run_id"`
}

func (r discrepancyRow) discrepancy() (payrecon.Discrepancy, error) {
	d := payrecon.Discrepancy{Code: payrecon.Code(r.Code), Kind: payrecon.EntryKind(r.Kind), OutTradeNo: r.OutTradeNo,
		ProviderTradeNo: r.ProviderTradeNo, OutRefundNo: r.OutRefundNo,
		BillFen: payrecon.Fen(r.BillFen.Int64), HasBill: r.BillFen.Valid, LedgerFen: payrecon.Fen(r.LedgerFen.Int64), HasLedger: r.LedgerFen.Valid,
		LedgerStatus: r.LedgerStatus, Note: r.Note, QueryResult: r.QueryResult, Resolution: payrecon.Outcome(r.Resolution),
		ResolvedRun: r.ResolvedRunID.Int64}
	if d.Resolution != "" && !r.ResolvedRunID.Valid { // stored before resolved_run_id existed
		d.ResolvedRun = r.RunID
	}
	return d, nil
}

// SaveReconciliation records what run established for (account, day), in
// one transaction: the day's stored discrepancies are replaced by ds (so a
// re-run never duplicates rows), and each mark sets the reconciliation
// state of its trade or refund to the mark's state, with run as the run
// that set it, unless the stored state ranks as high or higher
// ([payrecon.ReconState.Rank]): states only rise, and an equal state keeps
// the run that first set it. A mark for a trade or refund the ledger does
// not hold changes nothing.
func (db *DB) SaveReconciliation(ctx context.Context, runID int64, account string, day payrecon.Day, ds []payrecon.Discrepancy, marks []payrecon.ReconMark) error {
	for _, m := range marks {
		if err := m.State.Validate(); err != nil {
			return fmt.Errorf("save reconciliation: %w", err)
		}
	}
	err := db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		if err := lockKey(ctx, tx, "recon/"+account+"/"+day.String()); err != nil {
			return err
		}
		if err := replaceDiscrepancies(ctx, tx, runID, account, day, ds); err != nil {
			return err
		}
		return markStates(ctx, tx, runID, account, marks)
	})
	if err != nil {
		return fmt.Errorf("save reconciliation: %w", err)
	}
	return nil
}

func replaceDiscrepancies(ctx context.Context, tx *sqlx.Tx, runID int64, account string, day payrecon.Day, ds []payrecon.Discrepancy) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM discrepancies WHERE account = ? AND bill_date = ?`, account, day.String()); err != nil {
		return err
	}
	stmt, err := tx.PreparexContext(ctx, `
		INSERT INTO discrepancies (run_id, account, bill_date, code, kind, out_trade_no, provider_trade_no, out_refund_no,
			bill_fen, ledger_fen, ledger_status, note, query_result, resolution, resolved_run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, d := range ds {
		resolvedBy := sql.NullInt64{Int64: d.ResolvedRun, Valid: d.ResolvedRun != 0}
		if d.Resolution != "" && d.ResolvedRun == 0 {
			resolvedBy = sql.NullInt64{Int64: runID, Valid: true}
		}
		if _, err := stmt.ExecContext(ctx, runID, account, day.String(), d.Code, d.Kind, d.OutTradeNo, d.ProviderTradeNo, d.OutRefundNo,
			nullFen(d.HasBill, d.BillFen), nullFen(d.HasLedger, d.LedgerFen), d.LedgerStatus, d.Note, d.QueryResult, d.Resolution, resolvedBy); err != nil {
			return err
		}
	}
	return nil
}

// stateRank is [payrecon.ReconState.Rank] as an SQL expression over col.
func stateRank(col string) string {
	var b strings.Builder
	b.WriteString("CASE " + col)
	for _, s := range payrecon.ReconStates {
		fmt.Fprintf(&b, " WHEN '%s' THEN %d", s, s.Rank())
	}
	b.WriteString(" ELSE -1 END")
	return b.String()
}

func markStates(ctx context.Context, tx *sqlx.Tx, runID int64, account string, marks []payrecon.ReconMark) error {
	rank := stateRank("recon_state")
	trade, err := tx.PreparexContext(ctx, `UPDATE trades SET recon_state = ?, recon_run_id = ? WHERE account = ? AND out_trade_no = ? AND `+rank+` < ?`)
	if err != nil {
		return err
	}
	defer trade.Close()
	refund, err := tx.PreparexContext(ctx, `UPDATE refunds SET recon_state = ?, recon_run_id = ? WHERE account = ? AND out_refund_no = ? AND `+rank+` < ?`)
	if err != nil {
		return err
	}
	defer refund.Close()
	for _, m := range marks {
		stmt, key := trade, m.OutTradeNo
		if m.Kind == payrecon.EntryRefund {
			stmt, key = refund, m.OutRefundNo
		}
		if key == "" {
			continue
		}
		if _, err := stmt.ExecContext(ctx, m.State, runID, account, key, m.State.Rank()); err != nil {
			return fmt.Errorf("mark %s %s: %w", m.Kind, key, err)
		}
	}
	return nil
}

// Discrepancies returns the stored discrepancies of (account, day), in the
// order they were stored.
func (db *DB) Discrepancies(ctx context.Context, account string, day payrecon.Day) ([]payrecon.Discrepancy, error) {
	var rows []discrepancyRow
	err := db.read.SelectContext(ctx, &rows, `SELECT run_id, code, kind, out_trade_no, provider_trade_no, out_refund_no, bill_fen, ledger_fen,
		ledger_status, note, query_result, resolution, resolved_run_id
		FROM discrepancies WHERE account = ? AND bill_date = ? ORDER BY id`, account, day.String())
	if err != nil {
		return nil, fmt.Errorf("discrepancies: %w", err)
	}
	return convert(rows, discrepancyRow.discrepancy, "discrepancies")
}

package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/payrecon/payrecon"
)

type discrepancyRow struct {
	Code            string        `db:"code"`
	Kind            string        `db:"kind"`
	OutTradeNo      string        `db:"out_trade_no"`
	ProviderTradeNo string        `db:"provider_trade_no"`
	OutRefundNo     string        `db:"out_refund_no"`
	BillFen         sql.NullInt64 `db:"bill_fen"`
	LedgerFen       sql.NullInt64 `db:"ledger_fen"`
	Note            string        `db:"note"`
	QueryResult     string        `db:"query_result"`
	Resolution      string        `db:"resolution"`
}

func (r discrepancyRow) discrepancy() (payrecon.Discrepancy, error) {
	return payrecon.Discrepancy{Code: payrecon.Code(r.Code), Kind: payrecon.EntryKind(r.Kind), OutTradeNo: r.OutTradeNo,
		ProviderTradeNo: r.ProviderTradeNo, OutRefundNo: r.OutRefundNo,
		BillFen: payrecon.Fen(r.BillFen.Int64), HasBill: r.BillFen.Valid, LedgerFen: payrecon.Fen(r.LedgerFen.Int64), HasLedger: r.LedgerFen.Valid,
		Note: r.Note, QueryResult: r.QueryResult, Resolution: payrecon.Outcome(r.Resolution)}, nil
}

// ReplaceDiscrepancies replaces the stored discrepancies of (account, day)
// with those of run, in one transaction, so a re-run never duplicates rows.
func (db *DB) ReplaceDiscrepancies(ctx context.Context, runID int64, account string, day payrecon.Day, ds []payrecon.Discrepancy) error {
	err := db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM discrepancies WHERE account = ? AND bill_date = ?`, account, day.String()); err != nil {
			return err
		}
		for _, d := range ds {
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO discrepancies (run_id, account, bill_date, code, kind, out_trade_no, provider_trade_no, out_refund_no,
					bill_fen, ledger_fen, note, query_result, resolution) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				runID, account, day.String(), d.Code, d.Kind, d.OutTradeNo, d.ProviderTradeNo, d.OutRefundNo,
				nullFen(d.HasBill, d.BillFen), nullFen(d.HasLedger, d.LedgerFen), d.Note, d.QueryResult, d.Resolution); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("replace discrepancies: %w", err)
	}
	return nil
}

// Discrepancies returns the stored discrepancies of (account, day), in the
// order they were stored.
func (db *DB) Discrepancies(ctx context.Context, account string, day payrecon.Day) ([]payrecon.Discrepancy, error) {
	var rows []discrepancyRow
	err := db.read.SelectContext(ctx, &rows, `SELECT code, kind, out_trade_no, provider_trade_no, out_refund_no, bill_fen, ledger_fen, note, query_result, resolution
		FROM discrepancies WHERE account = ? AND bill_date = ? ORDER BY id`, account, day.String())
	if err != nil {
		return nil, fmt.Errorf("discrepancies: %w", err)
	}
	return convert(rows, discrepancyRow.discrepancy, "discrepancies")
}

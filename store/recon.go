package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/payrecon/payrecon"
)

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("not found")

// Bill is an archived bill file.
type Bill struct {
	ID        int64  `db:"id"`
	Account   string `db:"account"`
	Date      string `db:"bill_date"`
	Format    string `db:"format"`
	Path      string `db:"path"`
	SHA256    string `db:"sha256"`
	Size      int64  `db:"size"`
	Origin    string `db:"origin"`
	FetchedAt string `db:"fetched_at"`
}

// RecordBill records an archived bill file (idempotent by account, day and
// content hash) and returns its id.
func (db *DB) RecordBill(ctx context.Context, b Bill) (int64, error) {
	var id int64
	err := db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		return tx.QueryRowxContext(ctx, `
			INSERT INTO bills (account, bill_date, format, path, sha256, size, origin, fetched_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (account, bill_date, sha256) DO UPDATE SET fetched_at = excluded.fetched_at, path = excluded.path
			RETURNING id`, b.Account, b.Date, b.Format, b.Path, b.SHA256, b.Size, b.Origin, fmtTime(db.opt.Now())).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("record bill: %w", err)
	}
	return id, nil
}

// LatestBill returns the most recently archived bill of a day.
func (db *DB) LatestBill(ctx context.Context, account, date string) (Bill, error) {
	var b Bill
	err := db.read.GetContext(ctx, &b, `SELECT * FROM bills WHERE account = ? AND bill_date = ? ORDER BY fetched_at DESC, id DESC LIMIT 1`, account, date)
	if errors.Is(err, sql.ErrNoRows) {
		return Bill{}, ErrNotFound
	}
	if err != nil {
		return Bill{}, fmt.Errorf("latest bill: %w", err)
	}
	return b, nil
}

// WindowTrade is a ledger trade as the reconciliation reads it.
type WindowTrade struct {
	OutTradeNo      string         `db:"out_trade_no"`
	ProviderTradeNo string         `db:"provider_trade_no"`
	Status          string         `db:"status"`
	AmountFen       sql.NullInt64  `db:"amount_fen"`
	PaidAt          sql.NullString `db:"paid_at"`
}

// Paid returns the payment time, or the zero time.
func (t WindowTrade) Paid() time.Time {
	if !t.PaidAt.Valid {
		return time.Time{}
	}
	p, _ := parseTime(t.PaidAt.String)
	return p
}

// EachTrade streams the account's trades paid (or, unpaid, created) in
// [from, to).
func (db *DB) EachTrade(ctx context.Context, account string, from, to time.Time, fn func(WindowTrade) error) error {
	rows, err := db.read.QueryxContext(ctx, `
		SELECT out_trade_no, provider_trade_no, status, amount_fen, paid_at FROM trades
		WHERE account = ? AND COALESCE(paid_at, created_at) >= ? AND COALESCE(paid_at, created_at) < ?`,
		account, fmtTime(from), fmtTime(to))
	if err != nil {
		return fmt.Errorf("trades in window: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t WindowTrade
		if err := rows.StructScan(&t); err != nil {
			return fmt.Errorf("trades in window: %w", err)
		}
		if err := fn(t); err != nil {
			return err
		}
	}
	return rows.Err()
}

// EachRefund streams the account's refunds made (or, without a time,
// recorded) in [from, to).
func (db *DB) EachRefund(ctx context.Context, account string, from, to time.Time, fn func(RefundRow) error) error {
	rows, err := db.read.QueryxContext(ctx, `
		SELECT * FROM refunds
		WHERE account = ? AND COALESCE(refunded_at, created_at) >= ? AND COALESCE(refunded_at, created_at) < ?`,
		account, fmtTime(from), fmtTime(to))
	if err != nil {
		return fmt.Errorf("refunds in window: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r RefundRow
		if err := rows.StructScan(&r); err != nil {
			return fmt.Errorf("refunds in window: %w", err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Refunded returns the refund's time, or the zero time.
func (r RefundRow) Refunded() time.Time {
	if !r.RefundedAt.Valid {
		return time.Time{}
	}
	t, _ := parseTime(r.RefundedAt.String)
	return t
}

// Run is one reconciliation run.
type Run struct {
	ID         int64          `db:"id" json:"id"`
	Account    string         `db:"account" json:"account"`
	Date       string         `db:"bill_date" json:"date"`
	StartedAt  string         `db:"started_at" json:"started_at"`
	FinishedAt sql.NullString `db:"finished_at" json:"-"`
	Status     string         `db:"status" json:"status"`
	Trigger    string         `db:"trigger" json:"trigger"`
	BillID     sql.NullInt64  `db:"bill_id" json:"-"`
	Counts     string         `db:"counts" json:"counts"`
	Workbook   string         `db:"workbook" json:"workbook"`
	Error      string         `db:"error" json:"error"`
}

// StartRun records the start of a reconciliation run.
func (db *DB) StartRun(ctx context.Context, account, date, trigger string) (int64, error) {
	var id int64
	err := db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		return tx.QueryRowxContext(ctx, `INSERT INTO recon_runs (account, bill_date, started_at, status, trigger) VALUES (?, ?, ?, 'running', ?) RETURNING id`,
			account, date, fmtTime(db.opt.Now()), trigger).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("start run: %w", err)
	}
	return id, nil
}

// FinishRun records how a run ended.
func (db *DB) FinishRun(ctx context.Context, id int64, billID int64, counts map[payrecon.Code]int, workbook string, runErr error) error {
	status, msg := "ok", ""
	if runErr != nil {
		status, msg = "failed", runErr.Error()
	}
	c, _ := json.Marshal(counts)
	var bill any
	if billID > 0 {
		bill = billID
	}
	err := db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE recon_runs SET finished_at = ?, status = ?, bill_id = ?, counts = ?, workbook = ?, error = ? WHERE id = ?`,
			fmtTime(db.opt.Now()), status, bill, string(c), workbook, msg, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("finish run: %w", err)
	}
	return nil
}

// Runs lists reconciliation runs, newest first.
func (db *DB) Runs(ctx context.Context, limit int) ([]Run, error) {
	var out []Run
	if err := db.read.SelectContext(ctx, &out, `SELECT * FROM recon_runs ORDER BY id DESC LIMIT ?`, limit); err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return out, nil
}

// Discrepancy is a stored diff row that needs (or got) attention.
type Discrepancy struct {
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

// ReplaceDiscrepancies replaces the stored discrepancies of (account, day)
// with those of run, in one transaction, so a re-run never duplicates rows.
func (db *DB) ReplaceDiscrepancies(ctx context.Context, runID int64, account, date string, ds []Discrepancy) error {
	err := db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM discrepancies WHERE account = ? AND bill_date = ?`, account, date); err != nil {
			return err
		}
		for _, d := range ds {
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO discrepancies (run_id, account, bill_date, code, kind, out_trade_no, provider_trade_no, out_refund_no,
					bill_fen, ledger_fen, note, query_result, resolution) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				runID, account, date, d.Code, d.Kind, d.OutTradeNo, d.ProviderTradeNo, d.OutRefundNo,
				d.BillFen, d.LedgerFen, d.Note, d.QueryResult, d.Resolution); err != nil {
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

// Discrepancies returns the stored discrepancies of (account, day).
func (db *DB) Discrepancies(ctx context.Context, account, date string) ([]Discrepancy, error) {
	var out []Discrepancy
	err := db.read.SelectContext(ctx, &out, `SELECT code, kind, out_trade_no, provider_trade_no, out_refund_no, bill_fen, ledger_fen, note, query_result, resolution
		FROM discrepancies WHERE account = ? AND bill_date = ? ORDER BY id`, account, date)
	if err != nil {
		return nil, fmt.Errorf("discrepancies: %w", err)
	}
	return out, nil
}

// AuditEntry is one recorded repair.
type AuditEntry struct {
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
}

// Audit lists the repairs made on an account, oldest first.
func (db *DB) Audit(ctx context.Context, account string) ([]AuditEntry, error) {
	var out []AuditEntry
	err := db.read.SelectContext(ctx, &out, `SELECT at, account, bill_date, run_id, object, field, old_value, new_value, reason, evidence
		FROM audit WHERE account = ? ORDER BY id`, account)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return out, nil
}

// Repair says why and on what evidence a query result is applied.
type Repair struct {
	Account  string
	Provider payrecon.Provider
	Date     string
	RunID    int64
	Reason   string
	Evidence string
}

// ApplyQuery applies what an active provider query established to the
// ledger (source=query) and writes one audit row per changed field, in one
// transaction. It returns whether anything changed: applying the same
// result again changes nothing and writes no audit row.
func (db *DB) ApplyQuery(ctx context.Context, r Repair, ev *payrecon.Event) (bool, error) {
	changed := false
	err := db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		changed = false
		now := db.opt.Now()
		beforeT, _ := snapshotTrade(ctx, tx, r.Account, ev.OutTradeNo)
		var beforeR map[string]string
		if ev.Refund != nil {
			beforeR, _ = snapshotRefund(ctx, tx, r.Account, ev.Refund.OutRefundNo)
		}
		ref := fmt.Sprintf("query:run:%d", r.RunID)
		a, err := applyEvent(ctx, tx, r.Account, r.Provider, ev, payrecon.SourceQuery, ref, now)
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
		return recordApplied(ctx, tx, r.Account, a, payrecon.SourceQuery, ref, now)
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
	var r RefundRow
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

func writeAudit(ctx context.Context, tx *sqlx.Tx, r Repair, now time.Time, object string, before, after map[string]string) (int, error) {
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
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, fmtTime(now), r.Account, r.Date, r.RunID, object, f, old, neu, r.Reason, r.Evidence); err != nil {
			return n, fmt.Errorf("write audit: %w", err)
		}
		n++
	}
	return n, nil
}

// JobRun is one scheduled or manual job run.
type JobRun struct {
	ID         int64          `db:"id" json:"id"`
	Job        string         `db:"job" json:"job"`
	Account    string         `db:"account" json:"account"`
	Day        string         `db:"day" json:"day"`
	Trigger    string         `db:"trigger" json:"trigger"`
	StartedAt  string         `db:"started_at" json:"started_at"`
	FinishedAt sql.NullString `db:"finished_at" json:"-"`
	Status     string         `db:"status" json:"status"`
	Error      string         `db:"error" json:"error"`
}

// StartJob records a job run's start.
func (db *DB) StartJob(ctx context.Context, job, account, day, trigger string) (int64, error) {
	var id int64
	err := db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		return tx.QueryRowxContext(ctx, `INSERT INTO job_runs (job, account, day, trigger, started_at, status) VALUES (?, ?, ?, ?, ?, 'running') RETURNING id`,
			job, account, day, trigger, fmtTime(db.opt.Now())).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("start job: %w", err)
	}
	return id, nil
}

// FinishJob records a job run's end.
func (db *DB) FinishJob(ctx context.Context, id int64, runErr error) error {
	status, msg := "ok", ""
	if runErr != nil {
		status, msg = "failed", runErr.Error()
	}
	err := db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE job_runs SET finished_at = ?, status = ?, error = ? WHERE id = ?`, fmtTime(db.opt.Now()), status, msg, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("finish job: %w", err)
	}
	return nil
}

// SucceededDays returns the days on which job succeeded for account.
func (db *DB) SucceededDays(ctx context.Context, job, account string) (map[string]bool, error) {
	var days []string
	if err := db.read.SelectContext(ctx, &days, `SELECT DISTINCT day FROM job_runs WHERE job = ? AND account = ? AND status = 'ok'`, job, account); err != nil {
		return nil, fmt.Errorf("succeeded days: %w", err)
	}
	out := map[string]bool{}
	for _, d := range days {
		out[d] = true
	}
	return out, nil
}

// JobRuns lists job runs, newest first.
func (db *DB) JobRuns(ctx context.Context, limit int) ([]JobRun, error) {
	var out []JobRun
	if err := db.read.SelectContext(ctx, &out, `SELECT * FROM job_runs ORDER BY id DESC LIMIT ?`, limit); err != nil {
		return nil, fmt.Errorf("job runs: %w", err)
	}
	return out, nil
}

// CountWindow counts the account's trades and refunds that EachTrade and
// EachRefund would stream for [from, to), so callers can size their slices.
func (db *DB) CountWindow(ctx context.Context, account string, from, to time.Time) (trades, refunds int, err error) {
	err = db.read.QueryRowxContext(ctx, `SELECT
		(SELECT count(*) FROM trades WHERE account = ? AND COALESCE(paid_at, created_at) >= ? AND COALESCE(paid_at, created_at) < ?),
		(SELECT count(*) FROM refunds WHERE account = ? AND COALESCE(refunded_at, created_at) >= ? AND COALESCE(refunded_at, created_at) < ?)`,
		account, fmtTime(from), fmtTime(to), account, fmtTime(from), fmtTime(to)).Scan(&trades, &refunds)
	if err != nil {
		return 0, 0, fmt.Errorf("count window: %w", err)
	}
	return trades, refunds, nil
}

// CallbackHealth counts the account's paid (or refunded) trades paid in
// [from, to) by source, per hour of Beijing time. Bill-only trades are not
// in the ledger; the caller adds them from the diff.
func (db *DB) CallbackHealth(ctx context.Context, account string, from, to time.Time) (payrecon.CallbackHealth, []payrecon.HourHealth, error) {
	var rows []struct {
		Hour   int    `db:"h"`
		Source string `db:"source"`
		N      int    `db:"n"`
	}
	err := db.read.SelectContext(ctx, &rows, `
		SELECT CAST(strftime('%H', paid_at, '+8 hours') AS INTEGER) AS h, source, count(*) AS n FROM trades
		WHERE account = ? AND paid_at >= ? AND paid_at < ? AND status IN ('PAID', 'REFUNDED')
		GROUP BY h, source ORDER BY h`, account, fmtTime(from), fmtTime(to))
	if err != nil {
		return payrecon.CallbackHealth{}, nil, fmt.Errorf("callback health: %w", err)
	}
	var total payrecon.CallbackHealth
	hours := make([]payrecon.HourHealth, 24)
	for i := range hours {
		hours[i].Hour = i
	}
	for _, r := range rows {
		h := &hours[r.Hour%24].CallbackHealth
		switch payrecon.Source(r.Source) {
		case payrecon.SourceNotify:
			h.Notify += r.N
			total.Notify += r.N
		case payrecon.SourceQuery:
			h.Query += r.N
			total.Query += r.N
		default:
			h.BillOnly += r.N
			total.BillOnly += r.N
		}
	}
	return total, hours, nil
}

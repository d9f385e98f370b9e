package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/payrecon/payrecon"
)

// TradeFilter selects trades. Zero fields select everything.
type TradeFilter struct {
	Account string
	// PaidFrom and PaidTo select trades paid in [PaidFrom, PaidTo), or,
	// for unpaid trades, created in it.
	PaidFrom, PaidTo time.Time
	// State selects trades in this reconciliation state.
	State payrecon.ReconState
}

// Trades lists trades in (account, out_trade_no) order.
func (db *DB) Trades(ctx context.Context, f TradeFilter) ([]payrecon.Trade, error) {
	q := `SELECT * FROM trades WHERE 1=1`
	var args []any
	if f.Account != "" {
		q += ` AND account = ?`
		args = append(args, f.Account)
	}
	if !f.PaidFrom.IsZero() {
		q += ` AND COALESCE(paid_at, created_at) >= ? AND COALESCE(paid_at, created_at) < ?`
		args = append(args, fmtTime(f.PaidFrom), fmtTime(f.PaidTo))
	}
	if f.State != "" {
		q += ` AND recon_state = ?`
		args = append(args, f.State)
	}
	q += ` ORDER BY account, out_trade_no`
	var rows []tradeRow
	if err := db.read.SelectContext(ctx, &rows, q, args...); err != nil {
		return nil, fmt.Errorf("list trades: %w", err)
	}
	return convert(rows, tradeRow.trade, "list trades")
}

func (r tradeRow) trade() (payrecon.Trade, error) {
	t := payrecon.Trade{
		Account: r.Account, Provider: payrecon.Provider(r.Provider), OutTradeNo: r.OutTradeNo,
		ProviderTradeNo: r.ProviderTradeNo, Status: payrecon.TradeStatus(r.Status),
		AmountFen: payrecon.Fen(r.AmountFen.Int64), RefundedFen: payrecon.Fen(r.RefundedFen),
		Source:     payrecon.Source(r.Source),
		ReconState: payrecon.ReconState(cmp.Or(r.ReconState, string(payrecon.StateUnreconciled))), ReconRun: r.ReconRunID.Int64,
	}
	if r.PaidAt.Valid {
		p, err := parseTime(r.PaidAt.String)
		if err != nil {
			return t, fmt.Errorf("paid_at: %w", err)
		}
		t.PaidAt = &p
	}
	if u, err := parseTime(r.UpdatedAt); err == nil { // absent when only some columns were read
		t.UpdatedAt = u
	}
	return t, nil
}

// storedRefund is a refunds row.
type storedRefund struct {
	Account          string         `db:"account"`
	OutRefundNo      string         `db:"out_refund_no"`
	OutTradeNo       string         `db:"out_trade_no"`
	ProviderRefundNo string         `db:"provider_refund_no"`
	AmountFen        int64          `db:"amount_fen"`
	TotalFen         sql.NullInt64  `db:"total_fen"`
	Status           string         `db:"status"`
	RefundedAt       sql.NullString `db:"refunded_at"`
	Source           string         `db:"source"`
	SourceRef        string         `db:"source_ref"`
	CreatedAt        string         `db:"created_at"`
	UpdatedAt        string         `db:"updated_at"`
	ReconState       string         `db:"recon_state"`
	ReconRunID       sql.NullInt64  `db:"recon_run_id"`
}

func (r storedRefund) record() (payrecon.RefundRecord, error) {
	at, err := parseNullTime(r.RefundedAt)
	if err != nil {
		return payrecon.RefundRecord{}, fmt.Errorf("refunded_at: %w", err)
	}
	return payrecon.RefundRecord{Account: r.Account, OutTradeNo: r.OutTradeNo,
		Refund: payrecon.Refund{OutRefundNo: r.OutRefundNo, ProviderRefundNo: r.ProviderRefundNo, AmountFen: payrecon.Fen(r.AmountFen),
			TotalFen: payrecon.Fen(r.TotalFen.Int64), Status: payrecon.RefundStatus(r.Status), RefundedAt: at},
		Source: payrecon.Source(r.Source), SourceRef: r.SourceRef,
		ReconState: payrecon.ReconState(cmp.Or(r.ReconState, string(payrecon.StateUnreconciled))), ReconRun: r.ReconRunID.Int64}, nil
}

// Refunds lists the refunds of an account (all accounts when empty).
func (db *DB) Refunds(ctx context.Context, account string) ([]payrecon.RefundRecord, error) {
	var rows []storedRefund
	err := db.read.SelectContext(ctx, &rows, `SELECT * FROM refunds WHERE (? = '' OR account = ?) ORDER BY account, out_refund_no`, account, account)
	if err != nil {
		return nil, fmt.Errorf("list refunds: %w", err)
	}
	return convert(rows, storedRefund.record, "list refunds")
}

// EachTrade streams the account's trades paid (or, unpaid, created) in
// [from, to), with the fields the reconciliation reads.
// A million-row window is read here, so it scans by position, not by
// reflection, and keeps only the two numbers as new strings per row.
func (db *DB) EachTrade(ctx context.Context, account string, from, to time.Time, fn func(payrecon.Trade) error) error {
	const op = "trades in window"
	rows, err := db.read.QueryContext(ctx, `
		SELECT out_trade_no, provider_trade_no, status, amount_fen, paid_at FROM trades
		WHERE account = ? AND COALESCE(paid_at, created_at) >= ? AND COALESCE(paid_at, created_at) < ?`,
		account, fmtTime(from), fmtTime(to))
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	defer rows.Close()
	var status, paidAt sql.RawBytes
	var amount sql.NullInt64
	for rows.Next() {
		t := payrecon.Trade{ReconState: payrecon.StateUnreconciled}
		if err := rows.Scan(&t.OutTradeNo, &t.ProviderTradeNo, &status, &amount, &paidAt); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		t.Status, t.AmountFen = storedStatus(status), payrecon.Fen(amount.Int64)
		if paidAt != nil {
			p, ok := parseStoredUTC([]byte(paidAt))
			if !ok {
				if p, err = parseTime(string(paidAt)); err != nil {
					return fmt.Errorf("%s: paid_at: %w", op, err)
				}
			}
			t.PaidAt = &p
		}
		if err := fn(t); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// storedStatus is the trade status b names, as its constant when it is
// one (no string per row).
func storedStatus(b []byte) payrecon.TradeStatus {
	for _, s := range []payrecon.TradeStatus{payrecon.StatusPaid, payrecon.StatusRefunded, payrecon.StatusClosed, payrecon.StatusPending} {
		if string(b) == string(s) {
			return s
		}
	}
	return payrecon.TradeStatus(b)
}

// EachRefund streams the account's refunds made (or, without a time,
// recorded) in [from, to).
func (db *DB) EachRefund(ctx context.Context, account string, from, to time.Time, fn func(payrecon.RefundRecord) error) error {
	return each(ctx, db, "refunds in window", `
		SELECT * FROM refunds
		WHERE account = ? AND COALESCE(refunded_at, created_at) >= ? AND COALESCE(refunded_at, created_at) < ?`,
		[]any{account, fmtTime(from), fmtTime(to)}, storedRefund.record, fn)
}

// each streams the rows of a query to fn as domain values.
func each[R, T any](ctx context.Context, db *DB, op, query string, args []any, conv func(R) (T, error), fn func(T) error) error {
	rows, err := db.read.QueryxContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var r R
		if err := rows.StructScan(&r); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		v, err := conv(r)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		if err := fn(v); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
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

// LedgerEvent is one provenance row.
type LedgerEvent struct {
	Kind         string `db:"kind"`
	OutTradeNo   string `db:"out_trade_no"`
	OutRefundNo  string `db:"out_refund_no"`
	Source       string `db:"source"`
	SourceRef    string `db:"source_ref"`
	StatusBefore string `db:"status_before"`
	StatusAfter  string `db:"status_after"`
}

// LedgerEvents lists the events applied to one trade, oldest first.
func (db *DB) LedgerEvents(ctx context.Context, account, outTradeNo string) ([]LedgerEvent, error) {
	var out []LedgerEvent
	err := db.read.SelectContext(ctx, &out, `SELECT kind, out_trade_no, out_refund_no, source, source_ref, status_before, status_after
		FROM ledger_events WHERE account = ? AND out_trade_no = ? ORDER BY id`, account, outTradeNo)
	if err != nil {
		return nil, fmt.Errorf("ledger events: %w", err)
	}
	return out, nil
}

// Counts summarises what the ledger holds.
type Counts struct {
	Notifications int64 `db:"notifications" json:"notifications"`
	Deliveries    int64 `db:"deliveries" json:"deliveries"`
	Trades        int64 `db:"trades" json:"trades"`
	Refunds       int64 `db:"refunds" json:"refunds"`
	Transfers     int64 `db:"transfers" json:"transfers"`
	Quarantined   int64 `db:"quarantined" json:"quarantined"`
}

// Count returns row counts.
func (db *DB) Count(ctx context.Context) (Counts, error) {
	var c Counts
	err := db.read.GetContext(ctx, &c, `SELECT
		(SELECT count(*) FROM notifications) AS notifications,
		(SELECT COALESCE(sum(deliveries), 0) FROM notifications) AS deliveries,
		(SELECT count(*) FROM trades) AS trades,
		(SELECT count(*) FROM refunds) AS refunds,
		(SELECT count(*) FROM transfers) AS transfers,
		(SELECT count(*) FROM quarantine) AS quarantined`)
	if err != nil {
		return Counts{}, fmt.Errorf("count: %w", err)
	}
	return c, nil
}

// convert turns scanned rows into domain values, naming op in any error.
func convert[R, T any](rows []R, conv func(R) (T, error), op string) ([]T, error) {
	out := make([]T, 0, len(rows))
	for _, r := range rows {
		v, err := conv(r)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		out = append(out, v)
	}
	return out, nil
}

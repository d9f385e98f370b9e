package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"

	"time"

	"github.com/jmoiron/sqlx"

	"github.com/payrecon/payrecon"
)

// TradeFilter selects trades. Zero fields select everything.
type TradeFilter struct {
	Account string
	// PaidFrom and PaidTo select trades paid in [PaidFrom, PaidTo), or,
	// for unpaid trades, created in it.
	PaidFrom, PaidTo time.Time
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
	q += ` ORDER BY account, out_trade_no`
	var rows []tradeRow
	if err := db.read.SelectContext(ctx, &rows, q, args...); err != nil {
		return nil, fmt.Errorf("list trades: %w", err)
	}
	out := make([]payrecon.Trade, 0, len(rows))
	for _, r := range rows {
		t := payrecon.Trade{
			Account: r.Account, Provider: payrecon.Provider(r.Provider), OutTradeNo: r.OutTradeNo,
			ProviderTradeNo: r.ProviderTradeNo, Status: payrecon.TradeStatus(r.Status),
			AmountFen: payrecon.Fen(r.AmountFen.Int64), RefundedFen: payrecon.Fen(r.RefundedFen),
			Source: payrecon.Source(r.Source),
		}
		if r.PaidAt.Valid {
			p, err := parseTime(r.PaidAt.String)
			if err != nil {
				return nil, fmt.Errorf("list trades: paid_at: %w", err)
			}
			t.PaidAt = &p
		}
		if u, err := parseTime(r.UpdatedAt); err == nil {
			t.UpdatedAt = u
		}
		out = append(out, t)
	}
	return out, nil
}

// RefundRow is a refund as stored.
type RefundRow struct {
	Account          string         `db:"account" json:"account"`
	OutRefundNo      string         `db:"out_refund_no" json:"out_refund_no"`
	OutTradeNo       string         `db:"out_trade_no" json:"out_trade_no"`
	ProviderRefundNo string         `db:"provider_refund_no" json:"provider_refund_no"`
	AmountFen        int64          `db:"amount_fen" json:"amount_fen"`
	TotalFen         sql.NullInt64  `db:"total_fen" json:"-"`
	Status           string         `db:"status" json:"status"`
	RefundedAt       sql.NullString `db:"refunded_at" json:"-"`
	Source           string         `db:"source" json:"source"`
	SourceRef        string         `db:"source_ref" json:"source_ref"`
	CreatedAt        string         `db:"created_at" json:"-"`
	UpdatedAt        string         `db:"updated_at" json:"-"`
}

// Refunds lists the refunds of an account (all accounts when empty).
func (db *DB) Refunds(ctx context.Context, account string) ([]RefundRow, error) {
	var rows []RefundRow
	err := db.read.SelectContext(ctx, &rows, `SELECT * FROM refunds WHERE (? = '' OR account = ?) ORDER BY account, out_refund_no`, account, account)
	if err != nil {
		return nil, fmt.Errorf("list refunds: %w", err)
	}
	return rows, nil
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

// NotificationExists reports whether a notification with this dedup key is
// recorded for the account.
func (db *DB) NotificationExists(ctx context.Context, account, dedupKey string) (bool, error) {
	var n int
	err := db.read.GetContext(ctx, &n, `SELECT count(*) FROM notifications WHERE account = ? AND dedup_key = ?`, account, dedupKey)
	if err != nil {
		return false, fmt.Errorf("notification exists: %w", err)
	}
	return n > 0, nil
}

// MaxQuarantineBody is how much of a rejected body is kept.
const MaxQuarantineBody = 64 << 10

// Rejected is a notification that failed intake.
type Rejected struct {
	ReceivedAt time.Time
	Account    string
	Provider   string
	Reason     string
	Detail     string
	Method     string
	RemoteAddr string
	Header     http.Header
	Body       []byte
	// BodySize is the size of the body as received (it may exceed Body).
	BodySize int64
}

// Quarantine records a rejected notification. It never touches the ledger.
func (db *DB) Quarantine(ctx context.Context, r Rejected) error {
	hdr, err := json.Marshal(r.Header)
	if err != nil {
		return fmt.Errorf("quarantine: %w", err)
	}
	body, truncated := r.Body, false
	if body == nil {
		body = []byte{}
	}
	if len(body) > MaxQuarantineBody {
		body, truncated = body[:MaxQuarantineBody], true
	}
	if r.BodySize > int64(len(body)) {
		truncated = true
	}
	err = db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO quarantine (received_at, account, provider, reason, detail, method, remote_addr, headers, body, body_size, body_truncated)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			fmtTime(r.ReceivedAt), r.Account, r.Provider, r.Reason, r.Detail, r.Method, r.RemoteAddr,
			string(hdr), body, r.BodySize, truncated)
		return err
	})
	if err != nil {
		return fmt.Errorf("quarantine: %w", err)
	}
	return nil
}

// QuarantineSummary counts rejections by account and reason.
type QuarantineSummary struct {
	Account string `db:"account" json:"account"`
	Reason  string `db:"reason" json:"reason"`
	Count   int64  `db:"n" json:"count"`
}

// QuarantineByReason counts quarantined notifications by account and reason.
func (db *DB) QuarantineByReason(ctx context.Context) ([]QuarantineSummary, error) {
	var out []QuarantineSummary
	err := db.read.SelectContext(ctx, &out, `SELECT account, reason, count(*) AS n FROM quarantine GROUP BY account, reason ORDER BY account, reason`)
	if err != nil {
		return nil, fmt.Errorf("quarantine summary: %w", err)
	}
	return out, nil
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

// RejectedSince counts quarantined notifications per account received at or
// after since, excluding signature probes.
func (db *DB) RejectedSince(ctx context.Context, since time.Time) (map[string]int, error) {
	var rows []struct {
		Account string `db:"account"`
		N       int    `db:"n"`
	}
	if err := db.read.SelectContext(ctx, &rows, `SELECT account, count(*) AS n FROM quarantine WHERE received_at >= ? AND reason != 'probe' GROUP BY account`, fmtTime(since)); err != nil {
		return nil, fmt.Errorf("rejected since: %w", err)
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.Account] = r.N
	}
	return out, nil
}

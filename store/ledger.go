package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/payrecon/payrecon"
)

// tradeRow is a trades row.
type tradeRow struct {
	Account         string         `db:"account"`
	Provider        string         `db:"provider"`
	OutTradeNo      string         `db:"out_trade_no"`
	ProviderTradeNo string         `db:"provider_trade_no"`
	Status          string         `db:"status"`
	AmountFen       sql.NullInt64  `db:"amount_fen"`
	RefundedFen     int64          `db:"refunded_fen"`
	PaidAt          sql.NullString `db:"paid_at"`
	ClosedAt        sql.NullString `db:"closed_at"`
	Source          string         `db:"source"`
	SourceRef       string         `db:"source_ref"`
	StatusRef       string         `db:"status_ref"`
	CreatedAt       string         `db:"created_at"`
	UpdatedAt       string         `db:"updated_at"`
	ReconState      string         `db:"recon_state"`
	ReconRunID      sql.NullInt64  `db:"recon_run_id"`
}

// applied describes what applyEvent did, for the ledger_events
// provenance row that its caller decides whether to write.
type applied struct {
	kind, object, refundNo, before, after string
}

// recordApplied writes the provenance row of an applied event (nil: the
// event had no ledger effect).
func recordApplied(ctx context.Context, tx *sqlx.Tx, account string, a *applied, src payrecon.Source, ref string, now time.Time) error {
	if a == nil {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO ledger_events (account, kind, out_trade_no, out_refund_no, source, source_ref, status_before, status_after, applied_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		account, a.kind, a.object, a.refundNo, src, ref, a.before, a.after, fmtTime(now)); err != nil {
		return fmt.Errorf("insert ledger event: %w", err)
	}
	return nil
}

// applyEvent merges one event into the ledger. It is idempotent: applying
// the same event twice leaves the same state. Nothing moves backwards:
// statuses only rise in rank, known amounts and times are kept. It returns
// what it applied (nil for events without a ledger effect); writing the
// provenance row is the caller's choice.
func applyEvent(ctx context.Context, tx *sqlx.Tx, account string, provider payrecon.Provider, ev *payrecon.Event, src payrecon.Source, ref string, now time.Time) (*applied, error) {
	switch ev.Kind {
	case payrecon.EventOther:
		return nil, nil
	case payrecon.EventTransfer:
		return applyTransfer(ctx, tx, account, provider, ev.Transfer, src, ref, now)
	case payrecon.EventPending, payrecon.EventPayment, payrecon.EventClose, payrecon.EventRefund:
	default:
		return nil, fmt.Errorf("apply event: unknown kind %q", ev.Kind)
	}
	if err := lockKey(ctx, tx, tradeKey(account, ev.OutTradeNo)); err != nil {
		return nil, err
	}
	var old tradeRow
	err := tx.GetContext(ctx, &old, `SELECT * FROM trades WHERE account = ? AND out_trade_no = ?`, account, ev.OutTradeNo)
	exists := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("load trade: %w", err)
	}
	t := old
	if !exists {
		t = tradeRow{Account: account, Provider: string(provider), OutTradeNo: ev.OutTradeNo,
			Status: string(payrecon.StatusPending), Source: string(src), SourceRef: ref, StatusRef: ref,
			CreatedAt: fmtTime(now)}
	}
	if t.ProviderTradeNo == "" {
		t.ProviderTradeNo = ev.ProviderTradeNo
	}
	if !t.AmountFen.Valid && ev.HasAmount {
		t.AmountFen = sql.NullInt64{Int64: int64(ev.AmountFen), Valid: true}
	}
	if !t.PaidAt.Valid && !ev.PaidAt.IsZero() {
		t.PaidAt = sql.NullString{String: fmtTime(ev.PaidAt), Valid: true}
	}
	if !t.ClosedAt.Valid && !ev.ClosedAt.IsZero() {
		t.ClosedAt = sql.NullString{String: fmtTime(ev.ClosedAt), Valid: true}
	}
	status := payrecon.TradeStatus(t.Status)
	if ev.Status.Rank() > status.Rank() {
		status = ev.Status
	}
	refundBefore := ""
	if ev.Kind == payrecon.EventRefund {
		if ev.Refund != nil {
			if refundBefore, err = storedRefundStatus(ctx, tx, account, ev.Refund.OutRefundNo); err != nil {
				return nil, err
			}
		}
		if err := upsertRefund(ctx, tx, account, ev, refundBefore, src, ref, now); err != nil {
			return nil, err
		}
		if t.RefundedFen, err = refundedTotal(ctx, tx, account, ev.OutTradeNo); err != nil {
			return nil, err
		}
	}
	if t.AmountFen.Valid && t.AmountFen.Int64 > 0 && t.RefundedFen >= t.AmountFen.Int64 && status.Rank() >= payrecon.StatusPaid.Rank() {
		status = payrecon.StatusRefunded
	}
	before := ""
	if exists {
		before = old.Status
	}
	if string(status) != t.Status || !exists {
		t.StatusRef = ref
	}
	t.Status = string(status)
	t.UpdatedAt = fmtTime(now)
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO trades (account, provider, out_trade_no, provider_trade_no, status, amount_fen, refunded_fen,
			paid_at, closed_at, source, source_ref, status_ref, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (account, out_trade_no) DO UPDATE SET
			provider_trade_no = excluded.provider_trade_no, status = excluded.status,
			amount_fen = excluded.amount_fen, refunded_fen = excluded.refunded_fen,
			paid_at = excluded.paid_at, closed_at = excluded.closed_at,
			status_ref = excluded.status_ref, updated_at = excluded.updated_at`,
		t.Account, t.Provider, t.OutTradeNo, t.ProviderTradeNo, t.Status, t.AmountFen, t.RefundedFen,
		t.PaidAt, t.ClosedAt, t.Source, t.SourceRef, t.StatusRef, t.CreatedAt, t.UpdatedAt); err != nil {
		return nil, fmt.Errorf("upsert trade: %w", err)
	}
	if err := tradeEvents(ctx, tx, t, before, ev, refundBefore, src, now); err != nil {
		return nil, err
	}
	a := &applied{kind: string(ev.Kind), object: ev.OutTradeNo, before: before, after: t.Status}
	if ev.Refund != nil {
		a.refundNo = ev.Refund.OutRefundNo
	}
	return a, nil
}

func refundRank(s payrecon.RefundStatus) int {
	switch s {
	case payrecon.RefundProcessing:
		return 0
	case payrecon.RefundAbnormal:
		return 1
	case payrecon.RefundClosed, payrecon.RefundSuccess:
		return 2
	}
	return -1
}

type refundRow struct {
	OutRefundNo string         `db:"out_refund_no"`
	AmountFen   int64          `db:"amount_fen"`
	TotalFen    sql.NullInt64  `db:"total_fen"`
	Status      string         `db:"status"`
	RefundedAt  sql.NullString `db:"refunded_at"`
}

// upsertRefund merges the event's refund; before is its stored status ("" when new).
func upsertRefund(ctx context.Context, tx *sqlx.Tx, account string, ev *payrecon.Event, before string, src payrecon.Source, ref string, now time.Time) error {
	r := ev.Refund
	if r == nil || r.OutRefundNo == "" {
		return errors.New("apply refund: no refund number")
	}
	if refundRank(r.Status) < 0 {
		return fmt.Errorf("apply refund: unknown status %q", r.Status)
	}
	var total any
	if r.TotalFen > 0 {
		total = int64(r.TotalFen)
	}
	// A terminal status is never replaced; a later-ranked one replaces an
	// earlier-ranked one.
	replace := before == "" || refundRank(r.Status) > refundRank(payrecon.RefundStatus(before))
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO refunds (account, out_refund_no, out_trade_no, provider_refund_no, amount_fen, total_fen,
			status, refunded_at, source, source_ref, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (account, out_refund_no) DO UPDATE SET
			provider_refund_no = CASE WHEN refunds.provider_refund_no = '' THEN excluded.provider_refund_no ELSE refunds.provider_refund_no END,
			total_fen = COALESCE(refunds.total_fen, excluded.total_fen),
			refunded_at = COALESCE(refunds.refunded_at, excluded.refunded_at),
			status = CASE WHEN ? THEN excluded.status ELSE refunds.status END,
			source_ref = CASE WHEN ? THEN excluded.source_ref ELSE refunds.source_ref END,
			updated_at = excluded.updated_at`,
		account, r.OutRefundNo, ev.OutTradeNo, r.ProviderRefundNo, int64(r.AmountFen), total,
		string(r.Status), nullTime(r.RefundedAt), src, ref, fmtTime(now), fmtTime(now),
		replace, replace,
	); err != nil {
		return fmt.Errorf("upsert refund: %w", err)
	}
	return deriveAlipayAmounts(ctx, tx, account, ev.OutTradeNo)
}

// storedRefundStatus is the stored refund status, or "" when there is none.
// Any other read error is returned: it must not pass for "absent", which
// would let a stale status replace a terminal one.
func storedRefundStatus(ctx context.Context, tx *sqlx.Tx, account, outRefundNo string) (string, error) {
	var s string
	err := tx.GetContext(ctx, &s, `SELECT status FROM refunds WHERE account = ? AND out_refund_no = ?`, account, outRefundNo)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("refund status: %w", err)
	}
	return s, nil
}

// deriveAlipayAmounts sets each Alipay refund's own amount from the running
// totals Alipay states (refund_fee is the total refunded so far): in time
// order, amount = total - previous total. Recomputed on every refund, so
// refunds that arrive out of order still end with the right amounts.
func deriveAlipayAmounts(ctx context.Context, tx *sqlx.Tx, account, outTradeNo string) error {
	var rows []refundRow
	if err := tx.SelectContext(ctx, &rows, `
		SELECT out_refund_no, amount_fen, total_fen, status, refunded_at FROM refunds
		WHERE account = ? AND out_trade_no = ? AND total_fen IS NOT NULL AND status = 'SUCCESS'`, account, outTradeNo); err != nil {
		return fmt.Errorf("load refunds: %w", err)
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].TotalFen.Int64 != rows[j].TotalFen.Int64 {
			return rows[i].TotalFen.Int64 < rows[j].TotalFen.Int64
		}
		return rows[i].RefundedAt.String < rows[j].RefundedAt.String
	})
	var prev int64
	for _, r := range rows {
		amt := r.TotalFen.Int64 - prev
		prev = r.TotalFen.Int64
		if amt == r.AmountFen {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE refunds SET amount_fen = ? WHERE account = ? AND out_refund_no = ?`, amt, account, r.OutRefundNo); err != nil {
			return fmt.Errorf("derive refund amount: %w", err)
		}
	}
	return nil
}

// refundedTotal is what has been refunded on a trade: the sum of successful
// refunds, or Alipay's stated running total when that is larger.
func refundedTotal(ctx context.Context, tx *sqlx.Tx, account, outTradeNo string) (int64, error) {
	var sum, maxTotal sql.NullInt64
	if err := tx.QueryRowxContext(ctx, `
		SELECT sum(amount_fen), max(total_fen) FROM refunds
		WHERE account = ? AND out_trade_no = ? AND status = 'SUCCESS'`, account, outTradeNo).Scan(&sum, &maxTotal); err != nil {
		return 0, fmt.Errorf("sum refunds: %w", err)
	}
	return max(sum.Int64, maxTotal.Int64), nil
}

func transferRank(s string) int {
	switch s {
	case "SUCCESS", "FAIL", "CLOSED":
		return 1
	case "REFUND": // a bank transfer that bounced after success
		return 2
	}
	return 0 // WAIT_PAY, DEALING, unknown
}

func applyTransfer(ctx context.Context, tx *sqlx.Tx, account string, provider payrecon.Provider, tr *payrecon.Transfer, src payrecon.Source, ref string, now time.Time) (*applied, error) {
	if tr == nil || tr.OutBizNo == "" {
		return nil, errors.New("apply transfer: no out_biz_no")
	}
	if err := lockKey(ctx, tx, "transfer/"+account+"/"+tr.OutBizNo); err != nil {
		return nil, err
	}
	var old string
	err := tx.GetContext(ctx, &old, `SELECT status FROM transfers WHERE account = ? AND out_biz_no = ?`, account, tr.OutBizNo)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		_, err = tx.ExecContext(ctx, `
			INSERT INTO transfers (account, out_biz_no, order_id, amount_fen, status, paid_at, source, source_ref, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			account, tr.OutBizNo, tr.OrderID, int64(tr.AmountFen), tr.Status, nullTime(tr.PaidAt), src, ref, fmtTime(now), fmtTime(now))
	case err != nil:
	case transferRank(tr.Status) > transferRank(old):
		_, err = tx.ExecContext(ctx, `
			UPDATE transfers SET status = ?, paid_at = COALESCE(paid_at, ?), source_ref = ?, updated_at = ?
			WHERE account = ? AND out_biz_no = ?`,
			tr.Status, nullTime(tr.PaidAt), ref, fmtTime(now), account, tr.OutBizNo)
	}
	if err != nil {
		return nil, fmt.Errorf("apply transfer: %w", err)
	}
	if err := transferEvent(ctx, tx, account, provider, tr, old, src, now); err != nil {
		return nil, err
	}
	return &applied{kind: string(payrecon.EventTransfer), object: tr.OutBizNo, before: old, after: tr.Status}, nil
}

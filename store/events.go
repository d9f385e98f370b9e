package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/payrecon/payrecon"
)

// The outbox (tables events, endpoints, event_deliveries). An event row is
// written inside the transaction of the ledger change it describes, keyed
// by its fact (account, fact_key): a fact learned twice, or a second way,
// writes nothing the second time. Its delivery rows, one per endpoint that
// takes its account, are written with it.

// outEvent is an event about to be written.
type outEvent struct {
	account  string
	provider payrecon.Provider
	typ      payrecon.AppEventType
	factKey  string
	stream   string
	source   payrecon.Source
	data     any
}

// eventID is the event's stable id: the same fact always has the same id,
// even in a rebuilt ledger.
func eventID(account, factKey string) string {
	h := sha256.Sum256([]byte(account + "\x00" + factKey))
	return "evt_" + hex.EncodeToString(h[:12])
}

func tradeStream(account, outTradeNo string) string  { return account + "/trade/" + outTradeNo }
func transferStream(account, outBizNo string) string { return account + "/transfer/" + outBizNo }

// writeEvent inserts e unless its fact is already in the outbox, with a
// pending delivery for every endpoint that takes its account.
//
// Order on PostgreSQL, where writers commit concurrently (see
// insertEventPostgres): within a stream, seq order is commit order, because
// every writer of a stream holds its lock from before it allocates the seq
// to its commit. Callers hold the stream's trade or transfer lock anyway
// (applyEvent and applyTransfer, which intake, repair and review's
// acceptProvider go through; DisputeTrade), and writeEvent takes the
// stream's own lock too, so the order does not rest on them. Across
// streams, seqs may commit out of order; [DB.Events] reads only up to a
// horizon below which nothing is still to commit.
func writeEvent(ctx context.Context, tx *sqlx.Tx, e outEvent, now time.Time) error {
	data, err := json.Marshal(e.data)
	if err != nil {
		return fmt.Errorf("write event: %w", err)
	}
	ae := payrecon.AppEvent{ID: eventID(e.account, e.factKey), Type: e.typ, CreatedAt: now.UTC().Truncate(time.Millisecond),
		Account: e.account, Provider: e.provider, Source: e.source, Data: data}
	body, err := json.Marshal(ae)
	if err != nil {
		return fmt.Errorf("write event: %w", err)
	}
	if tx.DriverName() == pgDriver {
		created, err := insertEventPostgres(ctx, tx, e, ae, body, now)
		if err != nil || !created {
			return err
		}
		noteEvents(ctx)
		return nil
	}
	var seq int64
	err = tx.QueryRowxContext(ctx, `
		INSERT INTO events (event_id, account, fact_key, type, provider, stream, source, created_at, body)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (account, fact_key) DO NOTHING
		RETURNING seq`,
		ae.ID, e.account, e.factKey, e.typ, e.provider, e.stream, e.source, fmtTime(now), body).Scan(&seq)
	if isNoRows(err) {
		return nil // the fact is already known
	}
	if err != nil {
		return fmt.Errorf("write event: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO event_deliveries (endpoint, seq, stream, status, next_at)
		SELECT name, ?, ?, 'pending', ? FROM endpoints
		WHERE accounts = '' OR instr(accounts, ',' || ? || ',') > 0`,
		seq, e.stream, fmtTime(now), e.account); err != nil {
		return fmt.Errorf("write event deliveries: %w", err)
	}
	noteEvents(ctx)
	return nil
}

// appTrade is a trade row as event data (times in Beijing time).
func appTrade(t tradeRow) payrecon.AppTrade {
	tr, _ := t.trade() // a malformed time stays out of the event, as it stays out of the ledger's views
	return tr.App(payrecon.ShanghaiFixed)
}

// tradeEvents writes the events of a change to trade t (before: its status
// before, "" when it did not exist): payment.succeeded when it first counts
// as paid, payment.closed when it closes, and the refund's own event when
// the refund's status changed (refundBefore: its status before). A refund
// proves the payment: when one arrives for a trade not yet paid (a refund
// notification before its payment, or a query that states only the
// refund), payment.succeeded is derived from what the refund carried and
// written first.
func tradeEvents(ctx context.Context, tx *sqlx.Tx, t tradeRow, before string, ev *payrecon.Event, refundBefore string, src payrecon.Source, now time.Time) error {
	paid := payrecon.StatusPaid.Rank()
	e := outEvent{account: t.Account, provider: payrecon.Provider(t.Provider), stream: tradeStream(t.Account, t.OutTradeNo),
		source: src, data: appTrade(t)}
	wasPaid := before != "" && payrecon.TradeStatus(before).Rank() >= paid
	isPaid := payrecon.TradeStatus(t.Status).Rank() >= paid
	isRefund := ev.Kind == payrecon.EventRefund && ev.Refund != nil
	if (isPaid || isRefund) && !wasPaid {
		pe := e
		if !isPaid {
			at := appTrade(t)
			at.Status = payrecon.StatusPaid
			pe.data = at
		}
		pe.typ, pe.factKey = payrecon.PaymentSucceeded, "payment:"+t.OutTradeNo
		if err := writeEvent(ctx, tx, pe, now); err != nil {
			return err
		}
	}
	if t.Status == string(payrecon.StatusClosed) && before != t.Status {
		e.typ, e.factKey = payrecon.PaymentClosed, "closed:"+t.OutTradeNo
		if err := writeEvent(ctx, tx, e, now); err != nil {
			return err
		}
	}
	if ev.Kind != payrecon.EventRefund || ev.Refund == nil {
		return nil
	}
	var r storedRefund
	if err := tx.GetContext(ctx, &r, `SELECT * FROM refunds WHERE account = ? AND out_refund_no = ?`, t.Account, ev.Refund.OutRefundNo); err != nil {
		return fmt.Errorf("load refund: %w", err)
	}
	if r.Status == refundBefore {
		return nil
	}
	switch payrecon.RefundStatus(r.Status) {
	case payrecon.RefundSuccess:
		e.typ, e.factKey = payrecon.RefundSucceeded, "refund:"+r.OutRefundNo+":succeeded"
	case payrecon.RefundAbnormal, payrecon.RefundClosed:
		e.typ, e.factKey = payrecon.RefundFailed, "refund:"+r.OutRefundNo+":failed"
	default:
		return nil
	}
	refundedAt, _ := parseNullTime(r.RefundedAt)
	e.data = payrecon.AppRefund{AppTrade: appTrade(t), OutRefundNo: r.OutRefundNo, ProviderRefundNo: r.ProviderRefundNo,
		RefundFen: payrecon.Fen(r.AmountFen), RefundStatus: payrecon.RefundStatus(r.Status), RefundedAt: payrecon.EventTime(refundedAt)}
	return writeEvent(ctx, tx, e, now)
}

// transferEvent writes the event of a transfer whose status changed from
// before to tr.Status.
func transferEvent(ctx context.Context, tx *sqlx.Tx, account string, provider payrecon.Provider, tr *payrecon.Transfer, before string, src payrecon.Source, now time.Time) error {
	if before == tr.Status || transferRank(tr.Status) <= transferRank(before) && before != "" {
		return nil
	}
	e := outEvent{account: account, provider: provider, stream: transferStream(account, tr.OutBizNo), source: src,
		data: payrecon.AppTransfer{Account: account, Provider: provider, OutBizNo: tr.OutBizNo, OrderID: tr.OrderID,
			AmountFen: tr.AmountFen, Status: tr.Status, PaidAt: payrecon.EventTime(tr.PaidAt), Source: src}}
	switch tr.Status {
	case "SUCCESS":
		e.typ, e.factKey = payrecon.TransferSucceeded, "transfer:"+tr.OutBizNo+":succeeded"
	case "FAIL", "CLOSED", "REFUND":
		e.typ, e.factKey = payrecon.TransferFailed, "transfer:"+tr.OutBizNo+":failed"
	default:
		return nil
	}
	return writeEvent(ctx, tx, e, now)
}

// DisputeTrade writes a trade.disputed event for a trade the provider
// denies (CONFIRMED_ABSENT), once: calling it again writes nothing. It
// reports whether it wrote the event; a trade not in the ledger writes
// nothing.
func (db *DB) DisputeTrade(ctx context.Context, account, outTradeNo string) (bool, error) {
	var created bool
	err := db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		created = false
		if err := lockKey(ctx, tx, tradeKey(account, outTradeNo)); err != nil {
			return err
		}
		var t tradeRow
		if err := tx.GetContext(ctx, &t, `SELECT * FROM trades WHERE account = ? AND out_trade_no = ?`, account, outTradeNo); err != nil {
			if isNoRows(err) {
				return nil
			}
			return err
		}
		var n int
		if err := tx.GetContext(ctx, &n, `SELECT count(*) FROM events WHERE account = ? AND fact_key = ?`, account, "disputed:"+outTradeNo); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		created = true
		return writeEvent(ctx, tx, outEvent{account: account, provider: payrecon.Provider(t.Provider), typ: payrecon.TradeDisputed,
			factKey: "disputed:" + outTradeNo, stream: tradeStream(account, outTradeNo), source: payrecon.SourceQuery,
			data: appTrade(t)}, db.opt.Now())
	})
	if err != nil {
		return false, fmt.Errorf("dispute trade: %w", err)
	}
	return created, nil
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

func jsonUnmarshal(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode event: %w", err)
	}
	return nil
}

package store

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/payrecon/payrecon"
)

type orderRow struct {
	Account      string `db:"account"`
	OutTradeNo   string `db:"out_trade_no"`
	AmountFen    int64  `db:"amount_fen"`
	CreatedAt    string `db:"created_at"`
	Status       string `db:"status"`
	NextCheckAt  string `db:"next_check_at"`
	Checks       int    `db:"checks"`
	LastResult   string `db:"last_result"`
	LedgerStatus string `db:"ledger_status"`
}

func (r orderRow) order() (payrecon.ExpectedOrder, error) {
	o := payrecon.ExpectedOrder{Account: r.Account, OutTradeNo: r.OutTradeNo, AmountFen: payrecon.Fen(r.AmountFen),
		Status: payrecon.OrderStatus(r.Status), Checks: r.Checks, LastResult: r.LastResult, LedgerStatus: payrecon.TradeStatus(r.LedgerStatus)}
	var err error
	if o.CreatedAt, err = parseTime(r.CreatedAt); err != nil {
		return o, err
	}
	o.NextCheckAt, err = parseTime(r.NextCheckAt)
	return o, err
}

// RegisterOrders records a batch of expected orders in one transaction:
// all of them or, on error, none. Each is idempotent by (account,
// out_trade_no): an order already registered, in the ledger or earlier in
// the batch, is left as it is. Each order's first check is due at its
// NextCheckAt; its Status defaults to waiting. It returns how many orders
// were new.
func (db *DB) RegisterOrders(ctx context.Context, orders ...payrecon.ExpectedOrder) (int, error) {
	var added int
	err := db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		added = 0 // the writer may replay the batch
		registered := fmtTime(db.opt.Now())
		for _, o := range orders {
			res, err := tx.ExecContext(ctx, `INSERT INTO expected_orders (account, out_trade_no, amount_fen, created_at, registered_at, status, next_check_at)
				VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account, out_trade_no) DO NOTHING`,
				o.Account, o.OutTradeNo, int64(o.AmountFen), fmtTime(o.CreatedAt), registered,
				string(cmp.Or(o.Status, payrecon.OrderWaiting)), fmtTime(o.NextCheckAt))
			if err != nil {
				return fmt.Errorf("%s %s: %w", o.Account, o.OutTradeNo, err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			added += int(n)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("register orders: %w", err)
	}
	return added, nil
}

// DueOrders lists waiting orders whose next check is due, with the
// ledger's status of their trade.
func (db *DB) DueOrders(ctx context.Context, now time.Time, limit int) ([]payrecon.ExpectedOrder, error) {
	var rows []orderRow
	err := db.read.SelectContext(ctx, &rows, `
		SELECT o.account, o.out_trade_no, o.amount_fen, o.created_at, o.status, o.next_check_at, o.checks, o.last_result,
			COALESCE(t.status, '') AS ledger_status
		FROM expected_orders o LEFT JOIN trades t ON t.account = o.account AND t.out_trade_no = o.out_trade_no
		WHERE o.status = 'waiting' AND o.next_check_at <= ? ORDER BY o.next_check_at LIMIT ?`, fmtTime(now), limit)
	if err != nil {
		return nil, fmt.Errorf("due orders: %w", err)
	}
	return convert(rows, orderRow.order, "due orders")
}

// UpdateOrder records the outcome of a check.
func (db *DB) UpdateOrder(ctx context.Context, account, outTradeNo string, status payrecon.OrderStatus, next time.Time, result string) error {
	err := db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE expected_orders SET status = ?, next_check_at = ?, checks = checks + 1, last_result = ?
			WHERE account = ? AND out_trade_no = ?`, status, fmtTime(next), result, account, outTradeNo)
		return err
	})
	if err != nil {
		return fmt.Errorf("update order: %w", err)
	}
	return nil
}

// Orders lists an account's expected orders created in [from, to).
func (db *DB) Orders(ctx context.Context, account string, from, to time.Time) ([]payrecon.ExpectedOrder, error) {
	var rows []orderRow
	err := db.read.SelectContext(ctx, &rows, `SELECT account, out_trade_no, amount_fen, created_at, status, next_check_at, checks, last_result, '' AS ledger_status
		FROM expected_orders WHERE account = ? AND created_at >= ? AND created_at < ? ORDER BY created_at`, account, fmtTime(from), fmtTime(to))
	if err != nil {
		return nil, fmt.Errorf("orders: %w", err)
	}
	return convert(rows, orderRow.order, "orders")
}

package store

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/payrecon/payrecon"
)

// SeedTrade is a paid trade for [DB.Seed].
type SeedTrade struct {
	OutTradeNo, ProviderTradeNo string
	AmountFen                   payrecon.Fen
	PaidAt                      time.Time
}

// SeedRefund is a successful refund for [DB.Seed].
type SeedRefund struct {
	OutRefundNo, OutTradeNo string
	AmountFen               payrecon.Fen
	RefundedAt              time.Time
}

// Seed bulk-loads paid trades and successful refunds (source=notify,
// source_ref=seed) in one transaction. It exists for benchmarks and
// fixtures, where replaying a million signed notifications would measure
// the intake instead; payrecon itself never calls it.
func (db *DB) Seed(ctx context.Context, account string, p payrecon.Provider, trades iter.Seq[SeedTrade], refunds iter.Seq[SeedRefund]) error {
	err := db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		now := fmtTime(db.opt.Now())
		ts, err := tx.PrepareContext(ctx, `INSERT INTO trades (account, provider, out_trade_no, provider_trade_no, status, amount_fen, refunded_fen,
			paid_at, source, source_ref, status_ref, created_at, updated_at) VALUES (?, ?, ?, ?, 'PAID', ?, 0, ?, 'notify', 'seed', 'seed', ?, ?)`)
		if err != nil {
			return err
		}
		defer ts.Close()
		for t := range trades {
			if _, err := ts.ExecContext(ctx, account, p, t.OutTradeNo, t.ProviderTradeNo, int64(t.AmountFen), fmtTime(t.PaidAt), now, now); err != nil {
				return err
			}
		}
		rs, err := tx.PrepareContext(ctx, `INSERT INTO refunds (account, out_refund_no, out_trade_no, amount_fen, status, refunded_at, source, source_ref,
			created_at, updated_at) VALUES (?, ?, ?, ?, 'SUCCESS', ?, 'notify', 'seed', ?, ?)`)
		if err != nil {
			return err
		}
		defer rs.Close()
		for r := range refunds {
			if _, err := rs.ExecContext(ctx, account, r.OutRefundNo, r.OutTradeNo, int64(r.AmountFen), fmtTime(r.RefundedAt), now, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	return nil
}

package jobs

import (
	"context"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/reconcile"
	"github.com/payrecon/payrecon/store"
)

// LoadWindow reads the ledger facts of [from, to) for the diff, sized up
// front and with statuses interned, so a million-row day costs one
// allocation per string and no slice regrowth.
func LoadWindow(ctx context.Context, db *store.DB, account string, from, to time.Time) ([]reconcile.LedgerTrade, []reconcile.LedgerRefund, error) {
	nt, nr, err := db.CountWindow(ctx, account, from, to)
	if err != nil {
		return nil, nil, err
	}
	trades := make([]reconcile.LedgerTrade, 0, nt)
	if err := db.EachTrade(ctx, account, from, to, func(t store.WindowTrade) error {
		trades = append(trades, reconcile.LedgerTrade{OutTradeNo: t.OutTradeNo, ProviderTradeNo: t.ProviderTradeNo,
			Status: tradeStatus(t.Status), AmountFen: payrecon.Fen(t.AmountFen.Int64), PaidAt: t.Paid()})
		return nil
	}); err != nil {
		return nil, nil, err
	}
	refunds := make([]reconcile.LedgerRefund, 0, nr)
	if err := db.EachRefund(ctx, account, from, to, func(r store.RefundRow) error {
		refunds = append(refunds, reconcile.LedgerRefund{OutRefundNo: r.OutRefundNo, ProviderRefundNo: r.ProviderRefundNo, OutTradeNo: r.OutTradeNo,
			AmountFen: payrecon.Fen(r.AmountFen), Status: refundStatus(r.Status), RefundedAt: r.Refunded()})
		return nil
	}); err != nil {
		return nil, nil, err
	}
	return trades, refunds, nil
}

// tradeStatus returns the package constant for s, so each row does not keep
// its own copy of the string.
func tradeStatus(s string) payrecon.TradeStatus {
	for _, c := range []payrecon.TradeStatus{payrecon.StatusPaid, payrecon.StatusRefunded, payrecon.StatusClosed, payrecon.StatusPending} {
		if string(c) == s {
			return c
		}
	}
	return payrecon.TradeStatus(s)
}

func refundStatus(s string) payrecon.RefundStatus {
	for _, c := range []payrecon.RefundStatus{payrecon.RefundSuccess, payrecon.RefundProcessing, payrecon.RefundAbnormal, payrecon.RefundClosed} {
		if string(c) == s {
			return c
		}
	}
	return payrecon.RefundStatus(s)
}

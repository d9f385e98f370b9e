package jobs

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/archive"
	"github.com/payrecon/payrecon/reconcile"
)

// ledger is what the jobs read from and write to the ledger: exactly the
// methods they call. *store.DB satisfies it.
type ledger interface {
	archive.Ledger
	windowReader
	goLiveLedger
	// StartRun and FinishRun record a reconciliation run.
	StartRun(ctx context.Context, account string, day payrecon.Day, trigger string) (int64, error)
	FinishRun(ctx context.Context, id, billID int64, counts map[payrecon.Code]int, workbook string, runErr error) error
	// LedgerTotals counts and sums the trades PAID or REFUNDED and paid in
	// [from, to), and the refunds SUCCESS and refunded in it.
	LedgerTotals(ctx context.Context, account string, from, to time.Time) (payrecon.Totals, error)
	// SaveRunTotals records how a run's day ties out.
	SaveRunTotals(ctx context.Context, id int64, t payrecon.TieOut) error
	// ApplyQuery applies a provider's verified answer with an audit trail
	// and reports whether the ledger changed.
	ApplyQuery(ctx context.Context, r payrecon.Repair, ev *payrecon.Event) (bool, error)
	// DisputeTrade tells the merchant's app, once, that the provider
	// denies a trade the ledger holds as paid (trade.disputed).
	DisputeTrade(ctx context.Context, account, outTradeNo string) (bool, error)
	// CallbackHealth counts the paid trades of [from, to) by source.
	CallbackHealth(ctx context.Context, account string, from, to time.Time) (payrecon.CallbackHealth, []payrecon.HourHealth, error)
	// Orders lists the expected orders created in [from, to).
	Orders(ctx context.Context, account string, from, to time.Time) ([]payrecon.ExpectedOrder, error)
	// Discrepancies lists the stored problems of (account, day): what the
	// last run concluded.
	Discrepancies(ctx context.Context, account string, day payrecon.Day) ([]payrecon.Discrepancy, error)
	// SaveReconciliation replaces the stored problems of (account, day)
	// and raises the reconciliation state of each marked trade and refund,
	// in one transaction.
	SaveReconciliation(ctx context.Context, runID int64, account string, day payrecon.Day, ds []payrecon.Discrepancy, marks []payrecon.ReconMark) error
	// StartJob, FinishJob and SucceededDays record scheduled runs.
	StartJob(ctx context.Context, job, account string, day payrecon.Day, trigger string) (int64, error)
	FinishJob(ctx context.Context, id int64, runErr error) error
	SucceededDays(ctx context.Context, job, account string) (map[payrecon.Day]bool, error)
	// MarkTakenOverRuns fails the runs of a day a dead lease holder left running.
	MarkTakenOverRuns(ctx context.Context, account string, day payrecon.Day, before time.Time, holder string) (int, error)
}

// windowReader streams the ledger facts of a time window.
type windowReader interface {
	CountWindow(ctx context.Context, account string, from, to time.Time) (trades, refunds int, err error)
	EachTrade(ctx context.Context, account string, from, to time.Time, fn func(payrecon.Trade) error) error
	EachRefund(ctx context.Context, account string, from, to time.Time, fn func(payrecon.RefundRecord) error) error
}

// LoadWindow reads the ledger facts of [from, to) for the diff, sized up
// front and with statuses interned, so a million-row day costs one
// allocation per string and no slice regrowth. The trades are read as two
// halves of the window at once, on two connections, each into its own
// part of the slice; the refunds meanwhile.
func LoadWindow(ctx context.Context, db windowReader, account string, from, to time.Time) ([]reconcile.LedgerTrade, []reconcile.LedgerRefund, error) {
	mid := from.Add(to.Sub(from) / 2)
	halves := [2][2]time.Time{{from, mid}, {mid, to}}
	var nt, nr [2]int
	var errs [3]error
	var wg sync.WaitGroup
	for i, h := range halves {
		wg.Go(func() { nt[i], nr[i], errs[i] = db.CountWindow(ctx, account, h[0], h[1]) })
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return nil, nil, err
	}
	all := make([]reconcile.LedgerTrade, nt[0]+nt[1])
	parts := [2][]reconcile.LedgerTrade{all[:0:nt[0]], all[nt[0]:nt[0]:len(all)]}
	var refunds []reconcile.LedgerRefund
	for i, h := range halves {
		wg.Go(func() {
			errs[i] = db.EachTrade(ctx, account, h[0], h[1], func(t payrecon.Trade) error {
				parts[i] = append(parts[i], ledgerTrade(t))
				return nil
			})
		})
	}
	wg.Go(func() { refunds, errs[2] = loadRefunds(ctx, db, account, from, to, nr[0]+nr[1]) })
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return nil, nil, err
	}
	if len(parts[0]) == nt[0] && cap(parts[0]) == nt[0] && cap(parts[1]) == nt[1] {
		return all[:nt[0]+len(parts[1])], refunds, nil // both halves filled in place
	}
	// The ledger changed between the counts and the reads: join the halves.
	return append(append(make([]reconcile.LedgerTrade, 0, len(parts[0])+len(parts[1])), parts[0]...), parts[1]...), refunds, nil
}

func ledgerTrade(t payrecon.Trade) reconcile.LedgerTrade {
	lt := reconcile.LedgerTrade{OutTradeNo: t.OutTradeNo, ProviderTradeNo: t.ProviderTradeNo, Status: tradeStatus(t.Status), AmountFen: t.AmountFen}
	if t.PaidAt != nil {
		lt.PaidAt = *t.PaidAt
	}
	return lt
}

// loadRefunds reads the refunds of [from, to); n sizes the slice.
func loadRefunds(ctx context.Context, db windowReader, account string, from, to time.Time, n int) ([]reconcile.LedgerRefund, error) {
	refunds := make([]reconcile.LedgerRefund, 0, n)
	err := db.EachRefund(ctx, account, from, to, func(r payrecon.RefundRecord) error {
		refunds = append(refunds, reconcile.LedgerRefund{OutRefundNo: r.OutRefundNo, ProviderRefundNo: r.ProviderRefundNo, OutTradeNo: r.OutTradeNo,
			AmountFen: r.AmountFen, Status: refundStatus(r.Status), RefundedAt: r.RefundedAt})
		return nil
	})
	return refunds, err
}

// intern returns the constant of all equal to s, so rows do not each keep
// their own copy of the string.
func intern[S ~string](s S, all ...S) S {
	for _, c := range all {
		if c == s {
			return c
		}
	}
	return s
}

func tradeStatus(s payrecon.TradeStatus) payrecon.TradeStatus {
	return intern(s, payrecon.StatusPaid, payrecon.StatusRefunded, payrecon.StatusClosed, payrecon.StatusPending)
}

func refundStatus(s payrecon.RefundStatus) payrecon.RefundStatus {
	return intern(s, payrecon.RefundSuccess, payrecon.RefundProcessing, payrecon.RefundAbnormal, payrecon.RefundClosed)
}

package reconcile

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider"
)

// Querier asks the provider about one trade or refund.
type Querier interface {
	QueryPayment(ctx context.Context, outTradeNo, providerTradeNo string) (provider.Query, error)
	QueryRefund(ctx context.Context, outTradeNo, outRefundNo string) (provider.Query, error)
}

// Repair applies a query result to the ledger with an audit trail and
// reports whether anything changed. reason says why; evidence is the
// verified query result.
type Repair func(ctx context.Context, ev *payrecon.Event, reason, evidence string) (changed bool, err error)

// Resolver chases discrepancies with rate-limited, retried queries.
type Resolver struct {
	Query  Querier
	Repair Repair
	// DryRun queries but never repairs.
	DryRun bool
	// Interval is the least time between two queries (rate limit).
	Interval time.Duration
	// Attempts and Backoff govern retries of retryable query errors
	// (default 3 attempts, 500 ms doubling).
	Attempts int
	Backoff  time.Duration

	pace provider.Pacer
}

// Resolution is what happened to one discrepancy.
type Resolution struct {
	QueryResult string
	Outcome     payrecon.Outcome
	// Changed says the ledger was repaired (or, in a dry run, would be).
	Changed bool
	// Code, when set, reclassifies the discrepancy: CURRENCY_MISMATCH when
	// the provider's answer states a currency other than CNY (Currency).
	Code     payrecon.Code
	Currency string
}

// Resolve chases one discrepancy. MATCHED and CROSS_DAY need nothing;
// FEE_MISMATCH, CURRENCY_MISMATCH and DUPLICATE need a person; the rest
// are queried. An answer in another currency than CNY repairs nothing: it
// reclassifies the item CURRENCY_MISMATCH, for review.
// A BEFORE_START row (from before go-live) is chased as MISSING_LOCAL is:
// confirmed, it is repaired (the caller records it as source=bill).
// A query refused as a misconfiguration ([provider.ErrMisconfigured]: our
// signature, app or merchant, or a method not granted) is returned as the
// error: every other query would fail alike, so the run fails saying what
// to fix rather than sending each item to review.
func (r *Resolver) Resolve(ctx context.Context, it payrecon.Discrepancy) (Resolution, error) {
	switch it.Code {
	case payrecon.Matched, payrecon.CrossDay:
		return Resolution{}, nil
	case payrecon.FeeMismatch, payrecon.CurrencyMismatch, payrecon.Duplicate:
		return Resolution{Outcome: payrecon.OutcomeNeedsReview}, nil
	}
	var q provider.Query
	var err error
	if it.Kind == payrecon.EntryRefund {
		q, err = r.query(ctx, func(ctx context.Context) (provider.Query, error) {
			return r.Query.QueryRefund(ctx, it.OutTradeNo, it.OutRefundNo)
		})
	} else {
		q, err = r.query(ctx, func(ctx context.Context) (provider.Query, error) {
			return r.Query.QueryPayment(ctx, it.OutTradeNo, it.ProviderTradeNo)
		})
	}
	res := Resolution{QueryResult: q.Evidence}
	switch {
	case errors.Is(err, provider.ErrNotFound):
		res.QueryResult = "not found at the provider"
		if q.Evidence != "" {
			res.QueryResult += ": " + q.Evidence
		}
		if it.Code == payrecon.MissingChannel {
			res.Outcome = payrecon.OutcomeConfirmedAbsent
		} else {
			res.Outcome = payrecon.OutcomeNeedsReview
		}
		return res, nil
	case ctx.Err() != nil:
		return res, ctx.Err()
	case errors.Is(err, provider.ErrMisconfigured):
		// Every query would fail alike: the run fails, saying what to
		// fix, instead of sending each item to review.
		return res, err
	case err != nil:
		res.QueryResult = "query failed: " + err.Error()
		res.Outcome = payrecon.OutcomePending
		if !provider.IsRetryable(err) {
			res.Outcome = payrecon.OutcomeNeedsReview
		}
		return res, nil
	}
	if payrecon.IsForeignCurrency(q.Currency) {
		res.QueryResult += " currency=" + q.Currency
		res.Outcome, res.Code, res.Currency = payrecon.OutcomeNeedsReview, payrecon.CurrencyMismatch, q.Currency
		return res, nil
	}
	paid := q.Event != nil && (q.Event.Status == payrecon.StatusPaid || q.Event.Status == payrecon.StatusRefunded)
	if it.Kind == payrecon.EntryRefund {
		paid = q.Event != nil && q.Event.Refund != nil && q.Event.Refund.Status == payrecon.RefundSuccess
	}
	switch it.Code {
	case payrecon.MissingLocal, payrecon.StatusMismatch, payrecon.BeforeStart:
		if !paid {
			res.Outcome = payrecon.OutcomeNeedsReview // the bill says it happened, the provider's query does not
			return res, nil
		}
		if amountDiffers(it, q.Event) {
			// The provider's amount is not written into the ledger.
			res.Outcome = payrecon.OutcomeAmountMismatch
			return res, nil
		}
		if r.DryRun {
			res.Outcome, res.Changed = payrecon.OutcomeRecovered, true
			return res, nil
		}
		changed, err := r.Repair(ctx, q.Event, string(it.Code)+": confirmed by an active query", q.Evidence)
		if err != nil {
			return res, fmt.Errorf("repair %s: %w", it.OutTradeNo, err)
		}
		res.Changed = changed
		res.Outcome = payrecon.OutcomeRecovered
		if !changed {
			res.Outcome = payrecon.OutcomeNeedsReview // the query agrees with the ledger, yet the bill differs
		}
	case payrecon.MissingChannel:
		if paid {
			res.Outcome = payrecon.OutcomePending // real; expect it on an adjacent day's bill
		} else {
			res.Outcome = payrecon.OutcomeConfirmedAbsent
		}
	default: // AMOUNT_MISMATCH and anything new
		res.Outcome = payrecon.OutcomeNeedsReview
	}
	return res, nil
}

// amountDiffers reports whether the provider's answer states another
// amount than the bill row: then the answer recovers nothing, and the
// item is AMOUNT_MISMATCH.
func amountDiffers(it payrecon.Discrepancy, ev *payrecon.Event) bool {
	if !it.HasBill {
		return false
	}
	if it.Kind == payrecon.EntryRefund {
		return ev.Refund.AmountFen != it.BillFen
	}
	return ev.HasAmount && ev.AmountFen != it.BillFen
}

// query runs f after the rate limit, retrying retryable errors with
// exponential backoff.
func (r *Resolver) query(ctx context.Context, f func(context.Context) (provider.Query, error)) (provider.Query, error) {
	attempts, backoff := r.Attempts, r.Backoff
	if attempts <= 0 {
		attempts = 3
	}
	if backoff <= 0 {
		backoff = 500 * time.Millisecond
	}
	var q provider.Query
	var err error
	for i := range attempts {
		if err := r.wait(ctx); err != nil {
			return q, err
		}
		q, err = f(ctx)
		if err == nil || !provider.IsRetryable(err) || i == attempts-1 {
			return q, err
		}
		if err := provider.Wait(ctx, backoff<<i); err != nil {
			return q, err
		}
	}
	return q, err
}

func (r *Resolver) wait(ctx context.Context) error { return r.pace.Wait(ctx, r.Interval) }

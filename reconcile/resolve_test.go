package reconcile_test

import (
	"context"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider"
	"github.com/payrecon/payrecon/reconcile"
)

// fakeProvider stands in for the outside world: it answers from a map and
// can fail a number of times first.
type fakeProvider struct {
	paid     map[string]payrecon.Fen
	refunds  map[string]payrecon.Fen
	failures int
	calls    int
}

func (f *fakeProvider) QueryPayment(_ context.Context, out, _ string) (provider.Query, error) {
	f.calls++
	if f.failures > 0 {
		f.failures--
		return provider.Query{}, &provider.Error{Op: "query", Status: 503, Retryable: true}
	}
	amt, ok := f.paid[out]
	if !ok {
		return provider.Query{}, &provider.Error{Op: "query", Code: "40004", Err: provider.ErrNotFound}
	}
	return provider.Query{State: "TRADE_SUCCESS", Evidence: "paid " + amt.Yuan(), Event: &payrecon.Event{Kind: payrecon.EventPayment,
		Status: payrecon.StatusPaid, OutTradeNo: out, AmountFen: amt, HasAmount: true}}, nil
}

func (f *fakeProvider) QueryRefund(_ context.Context, out, refundNo string) (provider.Query, error) {
	f.calls++
	amt, ok := f.refunds[refundNo]
	if !ok {
		return provider.Query{}, &provider.Error{Op: "query", Err: provider.ErrNotFound}
	}
	return provider.Query{Evidence: "refunded", Event: &payrecon.Event{Kind: payrecon.EventRefund, OutTradeNo: out,
		Refund: &payrecon.Refund{OutRefundNo: refundNo, AmountFen: amt, Status: payrecon.RefundSuccess}}}, nil
}

func TestResolve(t *testing.T) {
	fp := &fakeProvider{paid: map[string]payrecon.Fen{"L1": 500, "C2": 700, "A1": 999}, refunds: map[string]payrecon.Fen{"R1": 50}}
	var repaired []string
	r := &reconcile.Resolver{Query: fp, Backoff: time.Millisecond, Repair: func(_ context.Context, ev *payrecon.Event, reason, evidence string) (bool, error) {
		repaired = append(repaired, ev.OutTradeNo)
		return true, nil
	}}
	pay := payrecon.EntryPayment
	for _, tc := range []struct {
		it   payrecon.Discrepancy
		want payrecon.Outcome
	}{
		{payrecon.Discrepancy{Code: payrecon.MissingLocal, Kind: pay, OutTradeNo: "L1", BillFen: 500, HasBill: true}, payrecon.OutcomeRecovered},
		{payrecon.Discrepancy{Code: payrecon.MissingLocal, Kind: pay, OutTradeNo: "L1", BillFen: 501, HasBill: true}, payrecon.OutcomeAmountMismatch},
		{payrecon.Discrepancy{Code: payrecon.MissingLocal, Kind: pay, OutTradeNo: "NOPE", BillFen: 1, HasBill: true}, payrecon.OutcomeNeedsReview},
		{payrecon.Discrepancy{Code: payrecon.MissingChannel, Kind: pay, OutTradeNo: "GHOST"}, payrecon.OutcomeConfirmedAbsent},
		{payrecon.Discrepancy{Code: payrecon.MissingChannel, Kind: pay, OutTradeNo: "C2"}, payrecon.OutcomePending},
		{payrecon.Discrepancy{Code: payrecon.AmountMismatch, Kind: pay, OutTradeNo: "A1"}, payrecon.OutcomeNeedsReview},
		{payrecon.Discrepancy{Code: payrecon.FeeMismatch, Kind: pay, OutTradeNo: "F1"}, payrecon.OutcomeNeedsReview},
		{payrecon.Discrepancy{Code: payrecon.Duplicate, Kind: pay, OutTradeNo: "D1"}, payrecon.OutcomeNeedsReview},
		{payrecon.Discrepancy{Code: payrecon.CrossDay, Kind: pay, OutTradeNo: "X1"}, ""},
		{payrecon.Discrepancy{Code: payrecon.MissingLocal, Kind: payrecon.EntryRefund, OutTradeNo: "L1", OutRefundNo: "R1"}, payrecon.OutcomeRecovered},
		{payrecon.Discrepancy{Code: payrecon.MissingChannel, Kind: payrecon.EntryRefund, OutTradeNo: "L1", OutRefundNo: "R9"}, payrecon.OutcomeConfirmedAbsent},
	} {
		got, err := r.Resolve(t.Context(), tc.it)
		if err != nil || got.Outcome != tc.want {
			t.Errorf("%s %s %s: outcome %q (%s), want %q, err %v", tc.it.Code, tc.it.Kind, tc.it.OutTradeNo, got.Outcome, got.QueryResult, tc.want, err)
		}
	}
	if len(repaired) != 2 {
		t.Errorf("repaired %v, want L1 payment and L1 refund", repaired)
	}
}

func TestResolveRetriesThenPending(t *testing.T) {
	fp := &fakeProvider{paid: map[string]payrecon.Fen{"L1": 500}, failures: 2}
	r := &reconcile.Resolver{Query: fp, Backoff: time.Millisecond, Repair: func(context.Context, *payrecon.Event, string, string) (bool, error) { return true, nil }}
	it := payrecon.Discrepancy{Code: payrecon.MissingLocal, Kind: payrecon.EntryPayment, OutTradeNo: "L1", BillFen: 500, HasBill: true}
	if got, _ := r.Resolve(t.Context(), it); got.Outcome != payrecon.OutcomeRecovered || fp.calls != 3 {
		t.Fatalf("after 2 transient failures: %+v, %d calls", got, fp.calls)
	}
	fp.failures, fp.calls = 10, 0
	if got, _ := r.Resolve(t.Context(), it); got.Outcome != payrecon.OutcomePending || fp.calls != 3 {
		t.Fatalf("provider down: %+v, %d calls", got, fp.calls)
	}
	// Dry run: recovered on paper, nothing repaired.
	fp.failures = 0
	r.DryRun = true
	r.Repair = func(context.Context, *payrecon.Event, string, string) (bool, error) {
		t.Fatal("repair in dry run")
		return false, nil
	}
	if got, _ := r.Resolve(t.Context(), it); got.Outcome != payrecon.OutcomeRecovered || !got.Changed {
		t.Fatalf("dry run: %+v", got)
	}
}

func TestResolveRateLimit(t *testing.T) {
	fp := &fakeProvider{paid: map[string]payrecon.Fen{}}
	r := &reconcile.Resolver{Query: fp, Interval: 20 * time.Millisecond}
	start := time.Now()
	for range 4 {
		r.Resolve(t.Context(), payrecon.Discrepancy{Code: payrecon.MissingChannel, Kind: payrecon.EntryPayment, OutTradeNo: "x"})
	}
	if el := time.Since(start); el < 60*time.Millisecond {
		t.Fatalf("4 queries took %s, the 20 ms interval allows no less than 60 ms", el)
	}
}

package reconcile_test

import (
	"context"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/reconcile"
)

// TestResolveRefundAmountDiffers: a refund the query confirms with an
// amount other than the bill row's is not recovered (the provider's amount
// is not written into the ledger): its outcome is AMOUNT_MISMATCH, and its
// refund's state NEEDS_REVIEW, as for a payment whose amounts differ.
func TestResolveRefundAmountDiffers(t *testing.T) {
	fp := &fakeProvider{refunds: map[string]payrecon.Fen{"R1": 50}}
	repaired := 0
	r := &reconcile.Resolver{Query: fp, Backoff: time.Millisecond, Repair: func(context.Context, *payrecon.Event, string, string) (bool, error) {
		repaired++
		return true, nil
	}}
	it := payrecon.Discrepancy{Code: payrecon.MissingLocal, Kind: payrecon.EntryRefund, OutTradeNo: "O1", OutRefundNo: "R1", BillFen: 60, HasBill: true}
	got, err := r.Resolve(t.Context(), it)
	if err != nil || got.Outcome != payrecon.OutcomeAmountMismatch || repaired != 0 {
		t.Fatalf("refund of 0.60 on the bill, 0.50 at the provider: %q (%s), repaired %d, err %v; want AMOUNT_MISMATCH and no repair", got.Outcome, got.QueryResult, repaired, err)
	}
	it.Resolution = got.Outcome
	if st := payrecon.StateOf(it); st != payrecon.StateNeedsReview {
		t.Fatalf("state of an AMOUNT_MISMATCH refund: %q, want NEEDS_REVIEW", st)
	}
	if cat, open := payrecon.OpenCategoryOf(it); !open || cat != payrecon.OpenNeedsReview {
		t.Fatalf("open category of an AMOUNT_MISMATCH refund: %q %v, want NEEDS_REVIEW", cat, open)
	}
	it.Resolution, it.BillFen = "", 50
	if got, _ := r.Resolve(t.Context(), it); got.Outcome != payrecon.OutcomeRecovered {
		t.Fatalf("same amount: %q, want RECOVERED", got.Outcome)
	}
}

package reconcile_test

import (
	"context"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider"
	"github.com/payrecon/payrecon/reconcile"
)

// TestFeeMismatchRate: the fee expected of a payment row is its
// settlement amount (order amount less the merchant's discount) at the
// row's own 费率 when it states one, else at the agreed rate; with
// neither, fees are not checked.
func TestFeeMismatchRate(t *testing.T) {
	day := payrecon.NewDay(2026, 11, 20)
	at := day.Start().Add(10 * time.Hour)
	row := func(fee int64, ratePPM int64, hasRate bool) payrecon.BillEntry {
		return payrecon.BillEntry{Kind: payrecon.EntryPayment, OutTradeNo: "W1", ProviderTradeNo: "42001", AmountFen: 10000, DiscountFen: 1000,
			FeeE5: fee, FeeRatePPM: ratePPM, HasFeeRate: hasRate, At: at, Status: "SUCCESS"}
	}
	trades := []reconcile.LedgerTrade{{OutTradeNo: "W1", ProviderTradeNo: "42001", Status: payrecon.StatusPaid, AmountFen: 10000, PaidAt: at}}
	for _, tc := range []struct {
		name     string
		e        payrecon.BillEntry
		agreedE4 int64
		want     payrecon.Code
	}{
		{"row rate, fee on the settlement", row(54000, 6000, true), 0, payrecon.Matched},
		{"row rate, fee on the order amount", row(60000, 6000, true), 0, payrecon.FeeMismatch},
		{"row rate wins over the agreed one", row(34000, 3800, true), 60, payrecon.Matched},
		{"row rate wins: fee at the agreed rate differs", row(54000, 3800, true), 60, payrecon.FeeMismatch},
		{"agreed rate, fee on the settlement", row(54000, 0, false), 60, payrecon.Matched},
		{"agreed rate, fee on the order amount", row(60000, 0, false), 60, payrecon.FeeMismatch},
		{"no rate at all", row(99999000, 0, false), 0, payrecon.Matched},
		{"a stated rate of 0%", row(1000, 0, true), 60, payrecon.FeeMismatch},
	} {
		res := reconcile.Run(day, reconcile.Options{FeeRateE4: tc.agreedE4}, []payrecon.BillEntry{tc.e}, nil, trades, nil)
		if len(res.Items) != 1 || res.Items[0].Code != tc.want {
			t.Errorf("%s: %+v, want %s", tc.name, res.Items, tc.want)
		}
	}
}

// TestCurrencyMismatch: a bill row in another currency than CNY is a
// CURRENCY_MISMATCH whether or not the ledger has it, and even when its
// number equals the ledger's (never compared as fen); a duplicate of it
// is still a duplicate; a CNY row beside it matches.
func TestCurrencyMismatch(t *testing.T) {
	day := payrecon.NewDay(2026, 11, 20)
	at := day.Start().Add(10 * time.Hour)
	bill := []payrecon.BillEntry{
		{Kind: payrecon.EntryPayment, OutTradeNo: "W1", ProviderTradeNo: "42001", AmountFen: 100, At: at, Status: "SUCCESS", Currency: "USD"},
		{Kind: payrecon.EntryPayment, OutTradeNo: "W2", ProviderTradeNo: "42002", AmountFen: 200, At: at, Status: "SUCCESS", Currency: "USD"},
		{Kind: payrecon.EntryPayment, OutTradeNo: "W2", ProviderTradeNo: "42002", AmountFen: 200, At: at, Status: "SUCCESS", Currency: "USD"},
		{Kind: payrecon.EntryPayment, OutTradeNo: "W3", ProviderTradeNo: "42003", AmountFen: 300, At: at, Status: "SUCCESS", Currency: "CNY"},
		{Kind: payrecon.EntryRefund, OutTradeNo: "W1", ProviderTradeNo: "42001", OutRefundNo: "W1-R1", ProviderRefundNo: "503", AmountFen: 50, At: at.Add(time.Hour),
			Status: "REFUND/SUCCESS", Currency: "USD"},
	}
	trades := []reconcile.LedgerTrade{
		{OutTradeNo: "W1", ProviderTradeNo: "42001", Status: payrecon.StatusPaid, AmountFen: 100, PaidAt: at},
		{OutTradeNo: "W3", ProviderTradeNo: "42003", Status: payrecon.StatusPaid, AmountFen: 300, PaidAt: at},
	}
	refunds := []reconcile.LedgerRefund{{OutRefundNo: "W1-R1", OutTradeNo: "W1", AmountFen: 50, Status: payrecon.RefundSuccess, RefundedAt: at.Add(time.Hour)}}
	res := reconcile.Run(day, reconcile.Options{}, bill, nil, trades, refunds)
	want := map[payrecon.Code]int{payrecon.CurrencyMismatch: 3, payrecon.Duplicate: 1, payrecon.Matched: 1}
	if len(res.Counts) != len(want) {
		t.Fatalf("counts %v, want %v", res.Counts, want)
	}
	for c, n := range want {
		if res.Counts[c] != n {
			t.Fatalf("counts %v, want %v", res.Counts, want)
		}
	}
	for _, it := range res.Items {
		if it.Code == payrecon.CurrencyMismatch && (it.Currency != "USD" || it.Note != "bill states currency USD") {
			t.Errorf("%+v: currency and note", it)
		}
	}
}

// currencyProvider answers every query as paid, in currency cur.
type currencyProvider struct {
	cur   string
	calls int
}

func (p *currencyProvider) QueryPayment(_ context.Context, out, _ string) (provider.Query, error) {
	p.calls++
	return provider.Query{State: "SUCCESS", Currency: p.cur, Evidence: "paid", Event: &payrecon.Event{Kind: payrecon.EventPayment,
		Status: payrecon.StatusPaid, OutTradeNo: out, AmountFen: 500, HasAmount: true}}, nil
}

func (p *currencyProvider) QueryRefund(_ context.Context, out, refundNo string) (provider.Query, error) {
	p.calls++
	return provider.Query{State: "SUCCESS", Currency: p.cur, Evidence: "refunded", Event: &payrecon.Event{Kind: payrecon.EventRefund, OutTradeNo: out,
		Refund: &payrecon.Refund{OutRefundNo: refundNo, AmountFen: 500, Status: payrecon.RefundSuccess}}}, nil
}

// TestResolveCurrency: a CURRENCY_MISMATCH is for review and is not
// queried; a query answer in another currency repairs nothing and
// reclassifies the item CURRENCY_MISMATCH, for review; the same answer in
// CNY (or stating none) recovers it.
func TestResolveCurrency(t *testing.T) {
	pay := payrecon.EntryPayment
	missing := payrecon.Discrepancy{Code: payrecon.MissingLocal, Kind: pay, OutTradeNo: "L1", BillFen: 500, HasBill: true}
	for _, tc := range []struct {
		cur      string
		it       payrecon.Discrepancy
		want     payrecon.Outcome
		wantCode payrecon.Code
		repairs  int
	}{
		{"USD", missing, payrecon.OutcomeNeedsReview, payrecon.CurrencyMismatch, 0},
		{"USD", payrecon.Discrepancy{Code: payrecon.MissingLocal, Kind: payrecon.EntryRefund, OutTradeNo: "L1", OutRefundNo: "R1", BillFen: 500, HasBill: true},
			payrecon.OutcomeNeedsReview, payrecon.CurrencyMismatch, 0},
		{"CNY", missing, payrecon.OutcomeRecovered, "", 1},
		{"", missing, payrecon.OutcomeRecovered, "", 1},
	} {
		qp := &currencyProvider{cur: tc.cur}
		repairs := 0
		r := &reconcile.Resolver{Query: qp, Repair: func(context.Context, *payrecon.Event, string, string) (bool, error) {
			repairs++
			return true, nil
		}}
		got, err := r.Resolve(t.Context(), tc.it)
		if err != nil || got.Outcome != tc.want || got.Code != tc.wantCode || repairs != tc.repairs {
			t.Errorf("%q %s: %+v, %v, %d repairs; want %s %q %d repairs", tc.cur, tc.it.Kind, got, err, repairs, tc.want, tc.wantCode, tc.repairs)
		}
	}
	qp := &currencyProvider{cur: "USD"}
	got, err := (&reconcile.Resolver{Query: qp}).Resolve(t.Context(), payrecon.Discrepancy{Code: payrecon.CurrencyMismatch, Kind: pay, OutTradeNo: "L1"})
	if err != nil || got.Outcome != payrecon.OutcomeNeedsReview || qp.calls != 0 {
		t.Errorf("CURRENCY_MISMATCH: %+v, %v, %d queries; want NEEDS_REVIEW without a query", got, err, qp.calls)
	}
}

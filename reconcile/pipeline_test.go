package reconcile_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/reconcile"
)

// runPipeline diffs an in-memory day through reconcile.Pipeline.
func runPipeline(t *testing.T, day payrecon.Day, opt reconcile.Options, bill, adjacent []payrecon.BillEntry, trades []reconcile.LedgerTrade, refunds []reconcile.LedgerRefund) reconcile.Result {
	t.Helper()
	res := reconcile.Result{Counts: map[payrecon.Code]int{}}
	_, err := reconcile.Pipeline(day, opt, adjacent,
		func() ([]reconcile.LedgerTrade, []reconcile.LedgerRefund, error) { return trades, refunds, nil },
		func(fn func(payrecon.BillEntry) error) (payrecon.BillTotals, error) {
			for _, e := range bill {
				if err := fn(e); err != nil {
					return payrecon.BillTotals{}, err
				}
			}
			return payrecon.BillTotals{Payments: len(bill)}, nil
		},
		func(it payrecon.Discrepancy) {
			res.Items = append(res.Items, it)
			res.Counts[it.Code]++
		})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// bigDay is a day of n payments, every 7th missing from the ledger and
// every 11th with another amount, plus ledger trades the bill lacks.
func bigDay(n int) ([]payrecon.BillEntry, []reconcile.LedgerTrade) {
	day := time.Date(2026, 11, 20, 10, 0, 0, 0, payrecon.ShanghaiFixed)
	var bill []payrecon.BillEntry
	var trades []reconcile.LedgerTrade
	for i := range n {
		e := payrecon.BillEntry{Kind: payrecon.EntryPayment, OutTradeNo: fmt.Sprintf("O%d", i), ProviderTradeNo: fmt.Sprintf("P%d", i),
			AmountFen: payrecon.Fen(100 + i), At: day.Add(time.Duration(i) * time.Second), Line: i + 2, Status: "SUCCESS"}
		bill = append(bill, e)
		if i%7 != 3 {
			amt := e.AmountFen
			if i%11 == 5 {
				amt++
			}
			trades = append(trades, reconcile.LedgerTrade{OutTradeNo: e.OutTradeNo, ProviderTradeNo: e.ProviderTradeNo, Status: payrecon.StatusPaid, AmountFen: amt, PaidAt: e.At})
		}
	}
	for i := range n / 10 {
		trades = append(trades, reconcile.LedgerTrade{OutTradeNo: fmt.Sprintf("X%d", i), ProviderTradeNo: fmt.Sprintf("Q%d", i), Status: payrecon.StatusPaid, AmountFen: 5, PaidAt: day})
	}
	return bill, trades
}

// TestPipelineMatchesRun: many batches through the pipeline classify
// every row as Run does, in the same order.
func TestPipelineMatchesRun(t *testing.T) {
	t.Parallel()
	day := payrecon.NewDay(2026, 11, 20)
	bill, trades := bigDay(5000)
	want := reconcile.Run(day, reconcile.Options{}, bill, nil, trades, nil)
	got := runPipeline(t, day, reconcile.Options{}, bill, nil, trades, nil)
	if want.Counts[payrecon.MissingLocal] == 0 || want.Counts[payrecon.AmountMismatch] == 0 || want.Counts[payrecon.MissingChannel] == 0 {
		t.Fatalf("the day has no fault of some kind: %v", want.Counts)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Pipeline counts %v, Run counts %v", got.Counts, want.Counts)
	}
}

// TestPipelineErrors: a failed ledger read stops the parser and is
// returned; a failed parse returns its error after classifying the rows
// before it, without Finish.
func TestPipelineErrors(t *testing.T) {
	t.Parallel()
	day := payrecon.NewDay(2026, 11, 20)
	bill, trades := bigDay(3000)
	loadErr, parseErr := errors.New("ledger down"), errors.New("bill cut")
	_, err := reconcile.Pipeline(day, reconcile.Options{}, nil,
		func() ([]reconcile.LedgerTrade, []reconcile.LedgerRefund, error) { return nil, nil, loadErr },
		func(fn func(payrecon.BillEntry) error) (payrecon.BillTotals, error) {
			for _, e := range bill {
				if err := fn(e); err != nil {
					return payrecon.BillTotals{}, err
				}
			}
			return payrecon.BillTotals{}, nil
		},
		func(payrecon.Discrepancy) { t.Error("emitted after a failed load") })
	if !errors.Is(err, loadErr) {
		t.Fatalf("load failure: %v", err)
	}
	var codes []payrecon.Code
	_, err = reconcile.Pipeline(day, reconcile.Options{}, nil,
		func() ([]reconcile.LedgerTrade, []reconcile.LedgerRefund, error) { return trades, nil, nil },
		func(fn func(payrecon.BillEntry) error) (payrecon.BillTotals, error) {
			for _, e := range bill[:1234] {
				if err := fn(e); err != nil {
					return payrecon.BillTotals{}, err
				}
			}
			return payrecon.BillTotals{}, parseErr
		},
		func(it payrecon.Discrepancy) { codes = append(codes, it.Code) })
	if !errors.Is(err, parseErr) || len(codes) != 1234 {
		t.Fatalf("parse failure: %v after %d items (want 1234, no MISSING_CHANNEL from Finish)", err, len(codes))
	}
}

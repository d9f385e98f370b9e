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
	_, err := reconcile.Pipeline(day, opt, reconcile.Rows(adjacent),
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

// TestNeighboursReadOnlyForMissing: the adjacent days' bills are read
// once, and only when ledger facts of the day are missing from its bill;
// a failure reading them is the diff's error, and nothing is emitted for
// the facts it could not classify.
func TestNeighboursReadOnlyForMissing(t *testing.T) {
	day := payrecon.NewDay(2026, 11, 20)
	at := day.Start().Add(time.Hour)
	paid := func(out string) reconcile.LedgerTrade {
		return reconcile.LedgerTrade{OutTradeNo: out, ProviderTradeNo: "P" + out, AmountFen: 100, Status: payrecon.StatusPaid, PaidAt: at}
	}
	row := payrecon.BillEntry{Kind: payrecon.EntryPayment, OutTradeNo: "A", ProviderTradeNo: "PA", AmountFen: 100, At: at}
	reads := 0
	neighbours := func(err error) reconcile.Neighbours {
		return func(fn func(payrecon.BillEntry) error) error {
			reads++
			if err != nil {
				return err
			}
			return fn(payrecon.BillEntry{Kind: payrecon.EntryPayment, OutTradeNo: "B", ProviderTradeNo: "PB", AmountFen: 100, At: at.Add(-24 * time.Hour)})
		}
	}
	run := func(trades []reconcile.LedgerTrade, adj reconcile.Neighbours) (map[payrecon.Code]int, error) {
		counts := map[payrecon.Code]int{}
		_, err := reconcile.Pipeline(day, reconcile.Options{}, adj,
			func() ([]reconcile.LedgerTrade, []reconcile.LedgerRefund, error) { return trades, nil, nil },
			func(fn func(payrecon.BillEntry) error) (payrecon.BillTotals, error) {
				return payrecon.BillTotals{Payments: 1}, fn(row)
			},
			func(it payrecon.Discrepancy) { counts[it.Code]++ })
		return counts, err
	}
	if counts, err := run([]reconcile.LedgerTrade{paid("A")}, neighbours(nil)); err != nil || reads != 0 || counts[payrecon.Matched] != 1 {
		t.Fatalf("nothing missing: %v, %d reads of the adjacent bills, counts %v; want none", err, reads, counts)
	}
	if counts, err := run([]reconcile.LedgerTrade{paid("A"), paid("B"), paid("C")}, neighbours(nil)); err != nil || reads != 1 ||
		counts[payrecon.CrossDay] != 1 || counts[payrecon.MissingChannel] != 1 {
		t.Fatalf("two missing: %v, %d reads, counts %v; want one read, B CROSS_DAY and C MISSING_CHANNEL", err, reads, counts)
	}
	broken := errors.New("adjacent bill unreadable")
	counts, err := run([]reconcile.LedgerTrade{paid("A"), paid("B")}, neighbours(broken))
	if !errors.Is(err, broken) || counts[payrecon.CrossDay]+counts[payrecon.MissingChannel] != 0 {
		t.Fatalf("unreadable adjacent bill: %v, counts %v; want its error and B unclassified", err, counts)
	}
}

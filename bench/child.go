package bench

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/archive"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/reconcile"
	"github.com/payrecon/payrecon/reports"
	"github.com/payrecon/payrecon/store"
)

// childArgs are a measure's command line, written by [runChild].
type childArgs struct {
	db, account, bill, format, mode, out string
	rows                                 int // raw mode: payments of the generated bill
	memoryLimit                          int64
	cpuprofile, memprofile               string
}

func parseChildArgs(args []string) (childArgs, error) {
	var a childArgs
	fs := flag.NewFlagSet(ChildCommand, flag.ContinueOnError)
	fs.StringVar(&a.db, "db", "", "ledger database")
	fs.StringVar(&a.account, "account", "", "account")
	fs.StringVar(&a.bill, "bill", "", "bill file")
	fs.StringVar(&a.format, "format", "", "bill format")
	fs.StringVar(&a.mode, "mode", "diff", "diff, workbook or raw")
	fs.IntVar(&a.rows, "rows", 0, "raw mode: payments per bill")
	fs.StringVar(&a.out, "out", "", "workbook file")
	fs.Int64Var(&a.memoryLimit, "memory-limit", 0, "soft memory limit in bytes")
	fs.StringVar(&a.cpuprofile, "cpuprofile", "", "CPU profile file")
	fs.StringVar(&a.memprofile, "memprofile", "", "heap profile file")
	return a, fs.Parse(args)
}

// ReconcileChild is one measure of [Reconcile], alone in its process: it
// parses the bill and diffs it against the ledger (and, in workbook mode,
// writes the workbook), then prints the row count, the seconds taken and
// the result counts to w as JSON. args are those [Reconcile] passes after
// [ChildCommand].
func ReconcileChild(ctx context.Context, args []string, w io.Writer) error {
	a, err := parseChildArgs(args)
	if err != nil {
		return err
	}
	// The raw loop is excelize's floor: it runs without payrecon's limit,
	// which would turn the rows it holds beforehand into collector work.
	if a.memoryLimit > 0 && a.mode != "raw" {
		debug.SetMemoryLimit(a.memoryLimit)
	}
	if a.cpuprofile != "" {
		if f, err := os.Create(a.cpuprofile); err == nil {
			pprof.StartCPUProfile(f)
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	start := time.Now()
	measureOf := measure
	if a.mode == "raw" {
		measureOf = measureRaw
	}
	res, err := measureOf(ctx, a)
	if err != nil {
		return err
	}
	res.Seconds = time.Since(start).Seconds()
	if a.memprofile != "" {
		if f, err := os.Create(a.memprofile); err == nil {
			runtime.GC()
			pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	return json.NewEncoder(w).Encode(res)
}

// measure runs the measured work and returns the bill's row count and
// the result counts ("MATCHED=… MISSING_LOCAL=…"), and in workbook mode
// the time spent in the workbook.
func measure(ctx context.Context, a childArgs) (childResult, error) {
	db, err := store.Open(ctx, a.db, store.Options{}, slog.New(slog.DiscardHandler))
	if err != nil {
		return childResult{}, err
	}
	defer db.Close()
	d, err := diffBill(ctx, db, a)
	if err != nil {
		return childResult{}, err
	}
	// The ledger is gone by now, before the workbook is assembled.
	if d.wb != nil {
		t0 := time.Now()
		if _, err := archive.WriteFile(a.out, func(w io.Writer) error { return d.wb.Finish(d.tot, d.ds, w) }); err != nil {
			return childResult{}, err
		}
		d.wbTime += time.Since(t0)
	}
	var parts []string
	for _, c := range payrecon.Codes {
		if d.counts[c] > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", c, d.counts[c]))
		}
	}
	return childResult{Rows: d.tot.Payments + d.tot.Refunds, Result: strings.Join(parts, " "), WorkbookSeconds: d.wbTime.Seconds()}, nil
}

// measureRaw writes the workbook's detail cells for a generated bill of
// a.rows payments with a plain StreamWriter loop; only the loop and the
// file are timed (WorkbookSeconds).
func measureRaw(_ context.Context, a childArgs) (childResult, error) {
	var acct benchAccount
	for _, x := range accounts {
		if x.name == a.account {
			acct = x
		}
	}
	rows := rawRows(acct, a.rows)
	t0 := time.Now()
	if err := writeRaw(a.out, rows); err != nil {
		return childResult{}, err
	}
	return childResult{Rows: len(rows), Result: "(the same cells, no diff)", WorkbookSeconds: time.Since(t0).Seconds()}, nil
}

// billDiff is a diffed bill: its totals, the count of each result code,
// and in workbook mode the workbook, the discrepancies and the time spent
// writing the workbook.
type billDiff struct {
	tot    payrecon.BillTotals
	counts map[payrecon.Code]int
	wb     *reports.Workbook
	ds     []payrecon.Discrepancy
	wbTime time.Duration
}

// diffBill loads the ledger window around the bench day while it parses
// the bill, and diffs the two (reconcile.Pipeline).
func diffBill(ctx context.Context, db *store.DB, a childArgs) (billDiff, error) {
	from, to := day.AddDate(0, 0, -2), day.AddDate(0, 0, 3)
	res := billDiff{counts: map[payrecon.Code]int{}}
	var err error
	if a.mode == "workbook" {
		if res.wb, err = reports.New(reports.Meta{Account: a.account, Date: payrecon.DayOf(day), GeneratedAt: time.Now()}); err != nil {
			return billDiff{}, err
		}
	}
	var wbErr error
	res.tot, err = reconcile.Pipeline(payrecon.DayOf(day), reconcile.Options{}, nil,
		func() ([]reconcile.LedgerTrade, []reconcile.LedgerRefund, error) {
			return jobs.LoadWindow(ctx, db, a.account, from, to)
		},
		func(fn func(payrecon.BillEntry) error) (payrecon.BillTotals, error) {
			return archive.ParseFile(a.bill, payrecon.BillFormat(a.format), fn)
		},
		func(it payrecon.Discrepancy) {
			res.counts[it.Code]++
			if res.wb != nil && wbErr == nil {
				t0 := time.Now()
				wbErr = res.wb.Add(it)
				if it.Code != payrecon.Matched {
					res.ds = append(res.ds, it)
				}
				res.wbTime += time.Since(t0)
			}
		})
	if err != nil {
		return billDiff{}, err
	}
	return res, wbErr
}

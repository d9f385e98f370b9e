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
	fs.StringVar(&a.mode, "mode", "diff", "diff or workbook")
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
	if a.memoryLimit > 0 {
		debug.SetMemoryLimit(a.memoryLimit)
	}
	if a.cpuprofile != "" {
		if f, err := os.Create(a.cpuprofile); err == nil {
			pprof.StartCPUProfile(f)
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	start := time.Now()
	rows, result, err := measure(ctx, a)
	if err != nil {
		return err
	}
	if a.memprofile != "" {
		if f, err := os.Create(a.memprofile); err == nil {
			runtime.GC()
			pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	return json.NewEncoder(w).Encode(childResult{Rows: rows, Seconds: time.Since(start).Seconds(), Result: result})
}

// measure runs the measured work and returns the bill's row count and the
// result counts ("MATCHED=… MISSING_LOCAL=…").
func measure(ctx context.Context, a childArgs) (int, string, error) {
	db, err := store.Open(ctx, a.db, store.Options{}, slog.New(slog.DiscardHandler))
	if err != nil {
		return 0, "", err
	}
	defer db.Close()
	d, err := diffBill(ctx, db, a)
	if err != nil {
		return 0, "", err
	}
	// The ledger is gone by now, before the workbook is assembled.
	if d.wb != nil {
		if _, err := archive.WriteFile(a.out, func(w io.Writer) error { return d.wb.Finish(d.tot, d.ds, w) }); err != nil {
			return 0, "", err
		}
	}
	var parts []string
	for _, c := range payrecon.Codes {
		if d.counts[c] > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", c, d.counts[c]))
		}
	}
	return d.tot.Payments + d.tot.Refunds, strings.Join(parts, " "), nil
}

// billDiff is a diffed bill: its totals, the count of each result code,
// and in workbook mode the workbook and the discrepancies.
type billDiff struct {
	tot    payrecon.BillTotals
	counts map[payrecon.Code]int
	wb     *reports.Workbook
	ds     []payrecon.Discrepancy
}

// diffBill loads the ledger window around the bench day, parses the bill
// and diffs the two.
func diffBill(ctx context.Context, db *store.DB, a childArgs) (billDiff, error) {
	from, to := day.AddDate(0, 0, -2), day.AddDate(0, 0, 3)
	trades, refunds, err := jobs.LoadWindow(ctx, db, a.account, from, to)
	if err != nil {
		return billDiff{}, err
	}
	res := billDiff{counts: map[payrecon.Code]int{}}
	if a.mode == "workbook" {
		if res.wb, err = reports.New(reports.Meta{Account: a.account, Date: payrecon.DayOf(day), GeneratedAt: time.Now()}); err != nil {
			return billDiff{}, err
		}
	}
	var wbErr error
	d := reconcile.New(payrecon.DayOf(day), reconcile.Options{}, trades, refunds, nil, func(it payrecon.Discrepancy) {
		res.counts[it.Code]++
		if res.wb != nil && wbErr == nil {
			wbErr = res.wb.Add(it)
			if it.Code != payrecon.Matched {
				res.ds = append(res.ds, it)
			}
		}
	})
	res.tot, err = archive.ParseFile(a.bill, payrecon.BillFormat(a.format), func(e payrecon.BillEntry) error {
		d.Add(e)
		return nil
	})
	if err != nil {
		return billDiff{}, err
	}
	d.Finish()
	return res, wbErr
}

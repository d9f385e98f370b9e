package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/archive"
	"github.com/payrecon/payrecon/config"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/provider"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/reconcile"
	"github.com/payrecon/payrecon/reports"
	"github.com/payrecon/payrecon/store"
)

var benchDay = time.Date(2026, 11, 20, 0, 0, 0, 0, payrecon.ShanghaiFixed)

// benchRows yields n payments (and a refund for every 20th) spread over the
// bench day, in the sandbox's bill row shape.
func benchRows(prefix string, n int) iter.Seq[sandbox.BillRow] {
	return func(yield func(sandbox.BillRow) bool) {
		for i := range n {
			at := benchDay.Add(time.Duration(int64(i)*86399/int64(n)) * time.Second)
			r := sandbox.BillRow{Kind: payrecon.EntryPayment, OutTradeNo: fmt.Sprintf("%s%08d", prefix, i), ProviderTradeNo: fmt.Sprintf("4200%s%020d", prefix, i),
				AmountFen: payrecon.Fen(100 + i%50000), Created: at.Add(-time.Minute), At: at}
			if !yield(r) {
				return
			}
			if i%20 == 7 {
				rf := r
				rf.Kind, rf.OutRefundNo, rf.ProviderRefundNo, rf.AmountFen = payrecon.EntryRefund, r.OutTradeNo+"-R", "5030"+r.OutTradeNo, r.AmountFen/2
				if !yield(rf) {
					return
				}
			}
		}
	}
}

// cmdBenchReconcile measures the daily job's heavy part on a large day:
// parsing a provider bill of -rows payments and diffing it against as many
// ledger rows, without queries; then writing a workbook of that size; and,
// where pandas is installed, the same diff as a pandas merge.
func cmdBenchReconcile(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench-reconcile", stderr)
	n := fs.Int("rows", 1_000_000, "payments per bill (plus a refund for every 20th)")
	keep := fs.String("dir", "", "work directory to keep (default: a temp dir, removed)")
	pandas := fs.Bool("pandas", true, "compare with a pandas merge when python3 has pandas")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir := *keep
	if dir == "" {
		d, err := os.MkdirTemp("", "payrecon-bench-reconcile-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	fmt.Fprintf(stdout, "reconciliation benchmark: %d payments per bill (+%d refunds), the same number of ledger rows, no queries\n\n", *n, (*n+12)/20)

	// Generation (not measured).
	t0 := time.Now()
	db, err := store.Open(ctx, filepath.Join(dir, "ledger.db"), store.Options{}, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	bills := map[string]string{}
	for _, p := range []struct{ acct, prefix string }{{"bench-ali", "A"}, {"bench-wx", "W"}} {
		path := filepath.Join(dir, p.acct+map[string]string{"A": ".csv.zip", "W": ".csv"}[p.prefix])
		_, err := archive.WriteFile(path, func(w io.Writer) error {
			bw := bufio.NewWriterSize(w, 1<<20)
			var err error
			if p.prefix == "A" {
				err = sandbox.WriteAlipayBill(bw, "2088000000000001", benchDay, benchRows(p.prefix, *n), sandbox.BillOptions{})
			} else {
				err = sandbox.WriteWeChatBill(bw, "1900000001", "wx01", benchRows(p.prefix, *n), sandbox.BillOptions{})
			}
			if err != nil {
				return err
			}
			return bw.Flush()
		})
		if err != nil {
			return err
		}
		bills[p.acct] = path
		// The ledger: every bill row but 1% (dropped callbacks), 0.4% with
		// another amount, and 0.5% extra trades the bill lacks.
		trades := func(yield func(store.SeedTrade) bool) {
			for r := range benchRows(p.prefix, *n) {
				if r.Kind != payrecon.EntryPayment {
					continue
				}
				var i int
				fmt.Sscanf(r.OutTradeNo[1:], "%d", &i)
				if i%100 == 1 {
					continue
				}
				amt := r.AmountFen
				if i%250 == 3 {
					amt++
				}
				if !yield(store.SeedTrade{OutTradeNo: r.OutTradeNo, ProviderTradeNo: r.ProviderTradeNo, AmountFen: amt, PaidAt: r.At}) {
					return
				}
			}
			for i := range *n / 200 {
				if !yield(store.SeedTrade{OutTradeNo: fmt.Sprintf("%sX%07d", p.prefix, i), ProviderTradeNo: fmt.Sprintf("9%s%020d", p.prefix, i),
					AmountFen: 500, PaidAt: benchDay.Add(time.Hour)}) {
					return
				}
			}
		}
		refunds := func(yield func(store.SeedRefund) bool) {
			for r := range benchRows(p.prefix, *n) {
				if r.Kind == payrecon.EntryRefund && !yield(store.SeedRefund{OutRefundNo: r.OutRefundNo, OutTradeNo: r.OutTradeNo, AmountFen: r.AmountFen, RefundedAt: r.At}) {
					return
				}
			}
		}
		if err := db.Seed(ctx, p.acct, map[string]payrecon.Provider{"A": payrecon.Alipay, "W": payrecon.WeChatPay}[p.prefix], trades, refunds); err != nil {
			return err
		}
	}
	db.Close()
	fmt.Fprintf(stdout, "generated the bills and seeded the ledger in %s (not measured)\n\n", time.Since(t0).Round(time.Millisecond))

	fmt.Fprintf(stdout, "%-10s %-22s %9s %9s %11s  %s\n", "provider", "measure", "rows", "seconds", "peak RSS", "result")
	for _, p := range []struct{ acct, format, name string }{{"bench-ali", string(provider.AlipayZip), "alipay"}, {"bench-wx", string(provider.WeChatCSV), "wechatpay"}} {
		for _, mode := range []string{"diff", "workbook"} {
			out, rss, err := benchChild(ctx, "-db", filepath.Join(dir, "ledger.db"), "-account", p.acct, "-bill", bills[p.acct], "-format", p.format,
				"-mode", mode, "-out", filepath.Join(dir, p.acct+".xlsx"))
			if err != nil {
				return err
			}
			label := "parse + diff"
			if mode == "workbook" {
				label = "parse + diff + workbook"
			}
			fmt.Fprintf(stdout, "%-10s %-22s %9d %9.2f %8.0f MB  %s\n", p.name, label, out.Rows, out.Seconds, float64(rss)/1024, out.Result)
		}
	}
	if *pandas {
		if err := benchPandas(ctx, dir, *n, stdout); err != nil {
			fmt.Fprintf(stdout, "pandas comparison skipped: %v\n", err)
		}
	}
	return nil
}

type childResult struct {
	Rows    int     `json:"rows"`
	Seconds float64 `json:"seconds"`
	Result  string  `json:"result"`
}

// benchChild re-runs this binary in bench-reconcile-child mode and returns
// its result and peak resident set size in KiB.
func benchChild(ctx context.Context, args ...string) (childResult, int64, error) {
	self, err := os.Executable()
	if err != nil {
		return childResult{}, 0, err
	}
	cmd := exec.CommandContext(ctx, self, append([]string{"bench-reconcile-child"}, args...)...)
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		return childResult{}, 0, fmt.Errorf("bench child: %w", err)
	}
	var r childResult
	if err := json.Unmarshal(b, &r); err != nil {
		return r, 0, fmt.Errorf("bench child output %q: %w", b, err)
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	var rss int64
	if ru != nil {
		rss = ru.Maxrss
	}
	return r, rss, nil
}

// cmdBenchReconcileChild is the measured part, alone in its process.
func cmdBenchReconcileChild(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench-reconcile-child", flag.ContinueOnError)
	dbPath := fs.String("db", "", "")
	account := fs.String("account", "", "")
	bill := fs.String("bill", "", "")
	format := fs.String("format", "", "")
	mode := fs.String("mode", "diff", "")
	out := fs.String("out", "", "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// The same soft memory limit payrecon applies by default (memory_limit).
	debug.SetMemoryLimit(int64(config.Default().MemoryLimit))
	if p := os.Getenv("PAYRECON_BENCH_CPUPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil {
			pprof.StartCPUProfile(f)
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	start := time.Now()
	db, err := store.Open(ctx, *dbPath, store.Options{}, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer db.Close()
	from, to := benchDay.AddDate(0, 0, -2), benchDay.AddDate(0, 0, 3)
	trades, refunds, err := jobs.LoadWindow(ctx, db, *account, from, to)
	if err != nil {
		return err
	}
	var wb *reports.Workbook
	if *mode == "workbook" {
		if wb, err = reports.New(reports.Meta{Account: *account, Date: payrecon.DayOf(benchDay), GeneratedAt: time.Now()}); err != nil {
			return err
		}
	}
	counts := map[payrecon.Code]int{}
	var ds []payrecon.Discrepancy
	var wbErr error
	d := reconcile.New(payrecon.DayOf(benchDay), reconcile.Options{}, trades, refunds, nil, func(it payrecon.Discrepancy) {
		counts[it.Code]++
		if wb != nil && wbErr == nil {
			wbErr = wb.Add(it)
			if it.Code != payrecon.Matched {
				ds = append(ds, it)
			}
		}
	})
	tot, err := archive.ParseFile(*bill, payrecon.BillFormat(*format), func(e payrecon.BillEntry) error {
		d.Add(e)
		return nil
	})
	if err != nil {
		return err
	}
	d.Finish()
	if wbErr != nil {
		return wbErr
	}
	d, trades, refunds = nil, nil, nil // let the ledger go before the workbook is assembled
	if wb != nil {
		if _, err := archive.WriteFile(*out, func(w io.Writer) error { return wb.Finish(tot, ds, w) }); err != nil {
			return err
		}
	}
	var parts []string
	for _, c := range payrecon.Codes {
		if counts[c] > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", c, counts[c]))
		}
	}
	if p := os.Getenv("PAYRECON_BENCH_MEMPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil {
			runtime.GC()
			pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	return json.NewEncoder(stdout).Encode(childResult{Rows: tot.Payments + tot.Refunds, Seconds: time.Since(start).Seconds(), Result: strings.Join(parts, " ")})
}

const pandasScript = `import json, sys, time
import pandas as pd
t = time.time()
dt = {"kind": str, "out_trade_no": str, "provider_trade_no": str, "out_refund_no": str}
bill = pd.read_csv(sys.argv[1], dtype=dt, keep_default_na=False)
led = pd.read_csv(sys.argv[2], dtype=dt, keep_default_na=False)
counts = {}
def diff(kind, key):
    b = bill[bill.kind == kind]
    l = led[led.kind == kind]
    m = b.merge(l, on=key, how="outer", suffixes=("_b", "_l"), indicator=True)
    both = m[m._merge == "both"]
    for code, n in (("MATCHED", (both.amount_fen_b == both.amount_fen_l).sum()),
                    ("MISSING_LOCAL", (m._merge == "left_only").sum()),
                    ("MISSING_CHANNEL", (m._merge == "right_only").sum()),
                    ("AMOUNT_MISMATCH", (both.amount_fen_b != both.amount_fen_l).sum())):
        counts[code] = counts.get(code, 0) + int(n)
diff("payment", "provider_trade_no")
diff("refund", "out_refund_no")
print(json.dumps({"rows": int(len(bill)), "seconds": time.time() - t,
                  "result": " ".join("%s=%d" % (k, v) for k, v in counts.items() if v)}))
`

// benchPandas runs the same key/amount diff as a pandas merge (read_csv of
// plain CSV exports of the same data, then merge with indicator), when a
// python3 with pandas is available.
func benchPandas(ctx context.Context, dir string, n int, stdout io.Writer) error {
	py := ""
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if exec.CommandContext(ctx, p, "-c", "import pandas").Run() == nil {
			py = p
			break
		}
	}
	if py == "" {
		return fmt.Errorf("no python3 with pandas (apt-get install python3-pandas)")
	}
	write := func(name string, rows func(w io.Writer)) (string, error) {
		path := filepath.Join(dir, name)
		_, err := archive.WriteFile(path, func(w io.Writer) error {
			bw := bufio.NewWriterSize(w, 1<<20)
			fmt.Fprintln(bw, "kind,out_trade_no,provider_trade_no,out_refund_no,amount_fen")
			rows(bw)
			return bw.Flush()
		})
		return path, err
	}
	billCSV, err := write("pandas-bill.csv", func(w io.Writer) {
		for r := range benchRows("W", n) {
			fmt.Fprintf(w, "%s,%s,%s,%s,%d\n", r.Kind, r.OutTradeNo, r.ProviderTradeNo, r.OutRefundNo, int64(r.AmountFen))
		}
	})
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, filepath.Join(dir, "ledger.db"), store.Options{}, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	ledCSV, err := write("pandas-ledger.csv", func(w io.Writer) {
		db.EachTrade(ctx, "bench-wx", benchDay.AddDate(0, 0, -2), benchDay.AddDate(0, 0, 3), func(t payrecon.Trade) error {
			fmt.Fprintf(w, "payment,%s,%s,,%d\n", t.OutTradeNo, t.ProviderTradeNo, t.AmountFen)
			return nil
		})
		db.EachRefund(ctx, "bench-wx", benchDay.AddDate(0, 0, -2), benchDay.AddDate(0, 0, 3), func(r payrecon.RefundRecord) error {
			fmt.Fprintf(w, "refund,%s,,%s,%d\n", r.OutTradeNo, r.OutRefundNo, int64(r.AmountFen))
			return nil
		})
	})
	db.Close()
	if err != nil {
		return err
	}
	script := filepath.Join(dir, "diff.py")
	if err := os.WriteFile(script, []byte(pandasScript), 0o600); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, py, script, billCSV, ledCSV)
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("pandas: %w", err)
	}
	var r childResult
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("pandas output %q: %w", b, err)
	}
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss
	}
	fmt.Fprintf(stdout, "%-10s %-22s %9d %9.2f %8.0f MB  %s\n", "pandas", "read_csv + merge", r.Rows, r.Seconds, float64(rss)/1024, r.Result)
	fmt.Fprintf(stdout, "(pandas reads plain CSV exports of the WeChat Pay data and compares keys and amounts only; payrecon parses the provider's own format and also checks status, fees, duplicates and days)\n")
	return nil
}

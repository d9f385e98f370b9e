package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// ChildCommand is the subcommand [Reconcile] re-executes its binary with,
// for one measure: "EXE bench-reconcile-child ARGS…" must call
// [ReconcileChild] with ARGS.
const ChildCommand = "bench-reconcile-child"

// ReconcileOptions configure [Reconcile].
type ReconcileOptions struct {
	// Rows is the number of payments per bill (plus a refund for every
	// 20th); the ledger holds as many rows.
	Rows int
	// Dir is a work directory to keep; empty means a temporary one,
	// removed at the end.
	Dir string
	// Pandas also times the same diff as a pandas merge, when a python3
	// with pandas is installed.
	Pandas bool
	// Exe is the binary re-executed as "Exe bench-reconcile-child …" for
	// each measure (see [ChildCommand]); empty means os.Executable().
	Exe string
	// MemoryLimit is the soft memory limit each measure runs under, in
	// bytes (payrecon's default memory_limit); 0 leaves the Go default.
	MemoryLimit int64
	// CPUProfile and MemProfile, when set, are files each measure writes
	// a CPU profile and a heap profile to (the last measure's remain).
	CPUProfile, MemProfile string
	// Stderr receives the child processes' standard error (nil discards
	// it).
	Stderr io.Writer
}

// Reconcile measures the daily job's heavy part on a large day, each
// measure in its own process: where pandas is installed, the same diff as
// a pandas merge of plain CSV exports; then for each provider, parsing a
// bill of opt.Rows payments and diffing it against as many ledger rows,
// without queries; the same with the workbook written; and a raw excelize
// StreamWriter loop writing the workbook's detail cells for that bill. It
// prints a table and the goals' ratios to w.
func Reconcile(ctx context.Context, opt ReconcileOptions, w io.Writer) error {
	dir := opt.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "payrecon-bench-reconcile-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	fmt.Fprintf(w, "reconciliation benchmark: %d payments per bill (+%d refunds), the same number of ledger rows, no queries\n\n", opt.Rows, (opt.Rows+12)/20)
	t0 := time.Now() // generation is not measured
	bills, err := generate(ctx, dir, opt.Rows)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "generated the bills and seeded the ledger in %s (not measured)\n\n", time.Since(t0).Round(time.Millisecond))
	fmt.Fprintf(w, "%-10s %-24s %9s %9s %11s  %s\n", "provider", "measure", "rows", "seconds", "peak RSS", "result")
	var m measures
	if opt.Pandas {
		if m.pandas, err = comparePandas(ctx, dir, opt.Rows, opt.Stderr, w); err != nil {
			fmt.Fprintf(w, "pandas comparison skipped: %v\n", err)
		}
	}
	for _, a := range accounts {
		pm, err := measureAccount(ctx, opt, dir, bills[a.name], a, w)
		if err != nil {
			return err
		}
		m.accounts = append(m.accounts, pm)
	}
	m.print(w)
	return nil
}

// measured is one measure's result and peak RSS in KiB.
type measured struct {
	r   childResult
	rss int64
}

// accountMeasures are one provider's measures.
type accountMeasures struct {
	label               string
	diff, workbook, raw measured
}

// measures are a run's measures, for the goals' ratios.
type measures struct {
	pandas   *measured
	accounts []accountMeasures
}

// measureAccount runs a's three measures and prints their rows.
func measureAccount(ctx context.Context, opt ReconcileOptions, dir, bill string, a benchAccount, w io.Writer) (accountMeasures, error) {
	am := accountMeasures{label: a.label}
	for _, mode := range []string{"diff", "workbook", "raw"} {
		r, rss, err := runChild(ctx, opt, "-db", filepath.Join(dir, "ledger.db"), "-account", a.name, "-bill", bill, "-format", string(a.format),
			"-mode", mode, "-rows", strconv.Itoa(opt.Rows), "-out", filepath.Join(dir, a.name+"-"+mode+".xlsx"))
		if err != nil {
			return am, err
		}
		switch mode {
		case "diff":
			am.diff = measured{r, rss}
			printRow(w, a.label, "parse + diff", r, rss)
		case "workbook":
			am.workbook = measured{r, rss}
			printRow(w, a.label, "parse + diff + workbook", r, rss)
			fmt.Fprintf(w, "%-10s %-24s %9s %9.2f\n", "", "  of which the workbook", "", r.WorkbookSeconds)
		case "raw":
			am.raw = measured{r, rss}
			r.Seconds = r.WorkbookSeconds // the loop and the file, not making the cells
			printRow(w, a.label, "raw StreamWriter loop", r, rss)
		}
	}
	return am, nil
}

// print states the goals' ratios measured in this run.
func (m measures) print(w io.Writer) {
	fmt.Fprintf(w, "\ngoals, measured in this run:\n")
	for _, a := range m.accounts {
		if m.pandas != nil {
			fmt.Fprintf(w, "%-10s parse + diff %.2f s vs pandas %.2f s: %.1f× faster (goal ≥ 2×); peak RSS %.0f MB (goal ≤ 300 MB)\n",
				a.label, a.diff.r.Seconds, m.pandas.r.Seconds, m.pandas.r.Seconds/a.diff.r.Seconds, float64(a.diff.rss)/1024)
		} else {
			fmt.Fprintf(w, "%-10s parse + diff %.2f s, peak RSS %.0f MB (goal ≤ 300 MB); no pandas to compare with\n", a.label, a.diff.r.Seconds, float64(a.diff.rss)/1024)
		}
		fmt.Fprintf(w, "%-10s workbook %.2f s vs raw StreamWriter loop %.2f s: %.2f× (goal ≤ 1.5×)\n",
			a.label, a.workbook.r.WorkbookSeconds, a.raw.r.WorkbookSeconds, a.workbook.r.WorkbookSeconds/a.raw.r.WorkbookSeconds)
	}
}

// childResult is what a measure reports on its standard output, as JSON.
type childResult struct {
	Rows    int     `json:"rows"`
	Seconds float64 `json:"seconds"`
	Result  string  `json:"result"`
	// WorkbookSeconds is the time spent writing the workbook (workbook
	// mode) or in the raw loop (raw mode).
	WorkbookSeconds float64 `json:"workbook_seconds,omitempty"`
}

// printRow prints one measure's row; rss is its peak RSS in KiB.
func printRow(w io.Writer, provider, measure string, r childResult, rss int64) {
	fmt.Fprintf(w, "%-10s %-24s %9d %9.2f %8.0f MB  %s\n", provider, measure, r.Rows, r.Seconds, float64(rss)/1024, r.Result)
}

// runChild re-runs the binary in child mode and returns its result and
// peak resident set size in KiB.
func runChild(ctx context.Context, opt ReconcileOptions, args ...string) (childResult, int64, error) {
	exe := opt.Exe
	if exe == "" {
		self, err := os.Executable()
		if err != nil {
			return childResult{}, 0, err
		}
		exe = self
	}
	args = append([]string{ChildCommand}, args...)
	args = append(args, "-memory-limit", strconv.FormatInt(opt.MemoryLimit, 10), "-cpuprofile", opt.CPUProfile, "-memprofile", opt.MemProfile)
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Stderr = opt.Stderr
	return runJSON("bench child", cmd)
}

// runJSON runs cmd (called name in errors), decodes the JSON result it
// prints and returns it with the process's peak resident set size in KiB.
func runJSON(name string, cmd *exec.Cmd) (childResult, int64, error) {
	b, err := cmd.Output()
	if err != nil {
		return childResult{}, 0, fmt.Errorf("%s: %w", name, err)
	}
	var r childResult
	if err := json.Unmarshal(b, &r); err != nil {
		return r, 0, fmt.Errorf("%s output %q: %w", name, b, err)
	}
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss
	}
	return r, rss, nil
}

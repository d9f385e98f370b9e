package main

import (
	"context"
	"io"

	"github.com/payrecon/payrecon/bench"
	"github.com/payrecon/payrecon/config"
)

// cmdBenchReconcile measures parse + diff and the workbook on a large day
// (see [bench.Reconcile]); each measure re-executes this binary as
// [bench.ChildCommand].
func cmdBenchReconcile(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench-reconcile", stderr)
	n := fs.Int("rows", 1_000_000, "payments per bill (plus a refund for every 20th)")
	keep := fs.String("dir", "", "work directory to keep (default: a temp dir, removed)")
	pandas := fs.Bool("pandas", true, "compare with a pandas merge when python3 has pandas")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return bench.Reconcile(ctx, bench.ReconcileOptions{
		Rows: *n, Dir: *keep, Pandas: *pandas,
		MemoryLimit: int64(config.Default().MemoryLimit), // the limit payrecon applies by default (memory_limit)
		CPUProfile:  getenv("PAYRECON_BENCH_CPUPROFILE"),
		MemProfile:  getenv("PAYRECON_BENCH_MEMPROFILE"),
		Stderr:      stderr,
	}, stdout)
}

// cmdBenchReconcileChild is one measure of bench-reconcile, alone in its
// process; run dispatches it as "bench-reconcile-child" ([bench.ChildCommand]).
func cmdBenchReconcileChild(ctx context.Context, args []string, stdout io.Writer) error {
	return bench.ReconcileChild(ctx, args, stdout)
}

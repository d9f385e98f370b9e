package jobs_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/provider/sandbox"
)

var update = flag.Bool("update", false, "rewrite testdata/summary_*.golden")

// TestSummaryGolden runs one sandbox day (fixed seed, the standard
// faults, WeChat Pay trades over the merchant's two apps, merchant
// coupons, provider discounts, refunds with fees returned) through the
// real intake and the daily job, for both accounts, at a fixed clock, and
// compares every cell of 汇总 (value, number format, fill) with
// testdata/summary_<locale>.golden, in zh and en. Run with -update to
// accept a change, then read the diff.
func TestSummaryGolden(t *testing.T) {
	now := time.Date(2026, 11, 21, 10, 30, 0, 0, payrecon.ShanghaiFixed)
	for _, locale := range []string{"zh", "en"} {
		t.Run(locale, func(t *testing.T) {
			e := setupDays(t, sandbox.ServerFaults{}, payrecon.ShanghaiFixed, func(sb *sandbox.Sandbox) []*sandbox.Day {
				apps := append([]string{sb.ID.WeChat.AppID}, sb.ID.WeChat.AppIDs...)
				return []*sandbox.Day{sb.GenerateDay(day, sandbox.DayOptions{Trades: 20, Seed: 42, Faults: true, AppIDs: apps})}
			})
			e.daily.Opt.Locale = locale
			e.daily.Now = func() time.Time { return now }
			var b strings.Builder
			b.WriteString("# Every cell of 汇总 for sandbox day 2026-11-20 (seed 42); regenerate with: go test ./jobs -run TestSummaryGolden -update\n")
			for _, acct := range []string{e.sb.ID.Alipay.Account, e.sb.ID.WeChat.Account} {
				rep, err := e.daily.Run(t.Context(), acct, payrecon.DayOf(day), jobs.RunOptions{})
				if err != nil {
					t.Fatal(err)
				}
				dumpSummary(t, &b, acct, rep.Workbook)
			}
			path := filepath.Join("testdata", "summary_"+locale+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./jobs -run TestSummaryGolden -update to create it)", err)
			}
			if got := b.String(); got != string(want) {
				t.Errorf("汇总 differs from %s (run with -update to accept):\n%s", path, diffLines(string(want), got))
			}
		})
	}
}

// dumpSummary writes every non-empty cell of the workbook's first sheet
// (汇总): its reference, raw value, number format and fill colour.
func dumpSummary(t *testing.T, b *strings.Builder, acct, path string) {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sheet := f.GetSheetName(0)
	rows, err := f.GetRows(sheet, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(b, "== %s %s\n", acct, sheet)
	for r, row := range rows {
		for c, v := range row {
			if v == "" {
				continue
			}
			ref, _ := excelize.CoordinatesToCellName(c+1, r+1)
			fmt.Fprintf(b, "%s %q%s\n", ref, v, cellFormat(t, f, sheet, ref))
		}
	}
}

// cellFormat is a cell's number format and fill, as " fmt=… fill=…".
func cellFormat(t *testing.T, f *excelize.File, sheet, ref string) string {
	t.Helper()
	id, err := f.GetCellStyle(sheet, ref)
	if err != nil || id == 0 {
		return ""
	}
	st, err := f.GetStyle(id)
	if err != nil {
		t.Fatal(err)
	}
	var out string
	if st.CustomNumFmt != nil {
		out += " fmt=" + *st.CustomNumFmt
	} else if st.NumFmt != 0 {
		out += fmt.Sprintf(" fmt=%d", st.NumFmt)
	}
	if len(st.Fill.Color) > 0 {
		out += " fill=" + strings.Join(st.Fill.Color, ",")
	}
	return out
}

// diffLines lists the lines of want and got that differ, by line number.
func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %s\n  got  %s\n", i+1, wl, gl)
		}
	}
	return b.String()
}

package reports_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/payrecon/payrecon"
)

// openpyxl returns a python3 that imports openpyxl, or skips the test.
func openpyxl(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(p, "-c", "import openpyxl").Run() == nil {
			return p
		}
	}
	t.Skip("python3 with openpyxl not installed (apt-get install python3-openpyxl)")
	return ""
}

// TestOpensInOpenpyxl loads the workbook with openpyxl, an independent
// reader, where Debian's python3-openpyxl is installed.
func TestOpensInOpenpyxl(t *testing.T) {
	py := openpyxl(t)
	meta := sampleMeta("")
	meta.Provider = payrecon.WeChatPay
	path := filepath.Join(t.TempDir(), "w.xlsx")
	if err := os.WriteFile(path, build(t, meta), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "-c", `
import sys, warnings, openpyxl
warnings.simplefilter("error")
wb = openpyxl.load_workbook(sys.argv[1])
print("|".join(wb.sheetnames))
ws = wb["明细"]
print(ws["C2"].value, ws["C2"].number_format, ws.freeze_panes, ws["F2"].value, ws["F2"].number_format, ws["E2"].value, ws["G2"].value, ws["H2"].value, sep="|")
for name in wb.sheetnames:
    ws = wb[name]
    ps = ws.page_setup
    print(name, ws.print_title_rows, ps.orientation, ps.fitToWidth, ps.fitToHeight, ws.sheet_properties.pageSetUpPr.fitToPage, sep="|")
ws = wb["差异"]
print(ws["A2"].value, ws["C2"].value, ws["K2"].value, ws["N2"].value, ws["O2"].value, sep="|")
ws = wb["汇总"]
print(ws["A36"].value, ws["C36"].value, ws["B14"].value, ws["B14"].number_format, ws["B9"].value, ws["B9"].number_format, ws["B10"].alignment.wrap_text, sep="|")
print(ws["A1"].value, ws["A1"].fill.fgColor.rgb, ws.merged_cells.ranges[0].coord, sep="|")
`, path).CombinedOutput()
	if err != nil {
		t.Fatalf("openpyxl: %v\n%s", err, out)
	}
	want := []string{
		"汇总|差异|明细|退款",
		`123.45|"¥"#,##0.00;[Red]\-"¥"#,##0.00|A2|2026-11-20 10:00:00|yyyy-mm-dd hh:mm:ss|已支付|已匹配|MATCHED`,
		"汇总|None|landscape|1|0|True",
		"差异|$1:$1|landscape|1|0|True",
		"明细|$1:$1|landscape|1|0|True",
		"退款|$1:$1|landscape|1|0|True",
		"MISSING_LOCAL|支付|已补单|RECOVERED|payment",
		"MISSING_LOCAL|1|128.45|" + `"¥"#,##0.00;[Red]\-"¥"#,##0.00` + "|2026-11-21 02:05:00|yyyy-mm-dd hh:mm:ss|True",
		"1 项需要处理，涉及金额 ¥7.00|FFC00000|A1:F1",
	}
	got := strings.Split(strings.TrimSpace(string(out)), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("openpyxl read:\n%s\nwant:\n%s", out, strings.Join(want, "\n"))
	}
}

// TestDimensionsInOpenpyxlReadOnly (issue 9, bug 6): every sheet declares
// its used range, so openpyxl in read-only mode, which trusts the
// declared <dimension>, sees the same rows and columns as a full load
// (which counts the cells), split detail sheets included.
func TestDimensionsInOpenpyxlReadOnly(t *testing.T) {
	py := openpyxl(t)
	meta := sampleMeta("")
	meta.RowsPerSheet = 1 // 明细 splits into parts
	path := filepath.Join(t.TempDir(), "w.xlsx")
	if err := os.WriteFile(path, build(t, meta), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "-c", `
import sys, openpyxl
full = openpyxl.load_workbook(sys.argv[1])
ro = openpyxl.load_workbook(sys.argv[1], read_only=True)
for name in full.sheetnames:
    f, r = full[name], ro[name]
    width = max(len(row) for row in r.iter_rows(values_only=True))
    print("|".join(str(v) for v in (name, r.calculate_dimension(), f.max_row, f.max_column, r.max_row, r.max_column, width, f.print_title_rows)))
`, path).CombinedOutput()
	if err != nil {
		t.Fatalf("openpyxl: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 5 {
		t.Fatalf("openpyxl read:\n%s", out)
	}
	for _, l := range lines {
		f := strings.Split(l, "|")
		if len(f) != 8 || f[2] != f[4] || f[3] != f[5] || f[3] != f[6] || f[3] == "1" {
			t.Errorf("sheet %s: dimension %s; full load %s rows × %s columns, read-only %s × %s, widest row %s", f[0], f[1], f[2], f[3], f[4], f[5], f[6])
			continue
		}
		// Every part of a split detail sheet repeats its own header row when printed.
		if want := "$1:$1"; f[0] != "汇总" && f[7] != want {
			t.Errorf("sheet %s: print titles %s, want %s", f[0], f[7], want)
		}
	}
}

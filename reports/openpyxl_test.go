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
print(ws["C2"].value, ws["C2"].number_format, ws.freeze_panes)
print(wb["差异"]["A2"].value)
ws = wb["汇总"]
print(ws["A28"].value, ws["C28"].value, ws["B12"].value, ws["B12"].number_format)
`, path).CombinedOutput()
	if err != nil {
		t.Fatalf("openpyxl: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 4 || lines[0] != "汇总|差异|明细|退款" || lines[1] != "123.45 0.00 A2" || lines[2] != "MISSING_LOCAL" ||
		lines[3] != "MISSING_LOCAL 1 128.45 0.00" {
		t.Fatalf("openpyxl read:\n%s", out)
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
    print("|".join(str(v) for v in (name, r.calculate_dimension(), f.max_row, f.max_column, r.max_row, r.max_column, width)))
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
		if len(f) != 7 || f[2] != f[4] || f[3] != f[5] || f[3] != f[6] || f[3] == "1" {
			t.Errorf("sheet %s: dimension %s; full load %s rows × %s columns, read-only %s × %s, widest row %s", f[0], f[1], f[2], f[3], f[4], f[5], f[6])
		}
	}
}

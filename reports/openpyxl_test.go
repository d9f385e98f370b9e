package reports_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/reports"
)

// TestOpensInOpenpyxl loads the workbook with openpyxl, an independent
// reader, where Debian's python3-openpyxl is installed.
func TestOpensInOpenpyxl(t *testing.T) {
	py := ""
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(p, "-c", "import openpyxl").Run() == nil {
			py = p
			break
		}
	}
	if py == "" {
		t.Skip("python3 with openpyxl not installed (apt-get install python3-openpyxl)")
	}
	res, tot := sample()
	w, err := reports.New(reports.Meta{Account: "shop", Provider: payrecon.WeChatPay, Date: payrecon.NewDay(2026, 11, 20), GeneratedAt: day})
	if err != nil {
		t.Fatal(err)
	}
	var ds []payrecon.Discrepancy
	for _, it := range res.Items {
		if err := w.Add(it); err != nil {
			t.Fatal(err)
		}
		if it.Code != payrecon.Matched {
			it.Resolution = payrecon.OutcomeRecovered
			ds = append(ds, it)
		}
	}
	var b bytes.Buffer
	if err := w.Finish(tot, ds, &b); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "w.xlsx")
	os.WriteFile(path, b.Bytes(), 0o600)
	out, err := exec.Command(py, "-c", `
import sys, warnings, openpyxl
warnings.simplefilter("error")
wb = openpyxl.load_workbook(sys.argv[1])
print("|".join(wb.sheetnames))
ws = wb["明细"]
print(ws["C2"].value, ws["C2"].number_format, ws.freeze_panes)
print(wb["差异"]["A2"].value)
`, path).CombinedOutput()
	if err != nil {
		t.Fatalf("openpyxl: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 3 || lines[0] != "汇总|差异|明细|退款" || lines[1] != "123.45 0.00 A2" || lines[2] != "MISSING_LOCAL" {
		t.Fatalf("openpyxl read:\n%s", out)
	}
}

package reports_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/payrecon/payrecon"
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
print(ws["A20"].value, ws["C20"].value, ws["B12"].value, ws["B12"].number_format)
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

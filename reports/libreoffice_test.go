package reports_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
)

// soffice returns LibreOffice's command-line binary, or skips the test.
func soffice(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/soffice", "soffice", "libreoffice"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Skip("LibreOffice not installed (apt-get install libreoffice-calc-nogui)")
	return ""
}

// TestOpensInLibreOffice converts the workbook with LibreOffice Calc, a
// third independent reader, exporting every sheet as it would show it
// (cell contents as formatted). A file Calc had to repair, or could not
// read, converts to nothing or to other values.
func TestOpensInLibreOffice(t *testing.T) {
	bin := soffice(t)
	dir := t.TempDir()
	meta := sampleMeta("")
	meta.Provider = payrecon.WeChatPay
	path := filepath.Join(dir, "w.xlsx")
	if err := os.WriteFile(path, build(t, meta), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out := filepath.Join(dir, "out")
	// 44,34,76: comma, double quote, UTF-8; true at 9: cell contents as shown;
	// -1: every sheet (LibreOffice ≥ 7.2).
	filter := "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1"
	cmd := exec.CommandContext(ctx, bin, "--headless", "--norestore", "--nolockcheck",
		"-env:UserInstallation=file://"+filepath.Join(dir, "profile"),
		"--convert-to", filter, "--outdir", out, path)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("soffice: %v\n%s", err, b)
	}
	sheet := func(name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(out, "w-"+name+".csv"))
		if err != nil {
			entries, _ := os.ReadDir(out)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			t.Fatalf("sheet %s not exported (%v); exported: %v", name, err, names)
		}
		return string(b)
	}
	summary, detail, diffs := sheet("汇总"), sheet("明细"), sheet("差异")
	sheet("退款")
	for _, want := range []struct{ sheet, name, text string }{
		{summary, "汇总 banner", "1 项需要处理，涉及金额 ¥7.00"},
		{summary, "汇总 money as shown", "¥128.45"},
		{detail, "明细 amount as shown", "¥123.45"},
		{detail, "明细 time as shown", "2026-11-20 10:00:00"},
		{diffs, "差异 resolution", "已补单"},
	} {
		if !strings.Contains(want.sheet, want.text) {
			t.Errorf("%s: %q not in LibreOffice's export:\n%s", want.name, want.text, want.sheet)
		}
	}
}

package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/provider/sandbox/sandboxtest"
)

var e2eDay = time.Date(2026, 11, 20, 0, 0, 0, 0, payrecon.ShanghaiFixed)

// TestEndToEnd: a sandbox business day with faults is notified to
// "payrecon serve", then "payrecon reconcile" (the built binary) downloads
// the bills from the emulated providers, diffs, queries, repairs and writes
// the workbooks, which are read back with excelize.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	fx := sandboxtest.New(t)
	dir, cfgPath, sb := fx.Dir, fx.Config, fx.Sandbox
	day := sb.GenerateDay(e2eDay, sandbox.DayOptions{Trades: 25, Seed: 7, Faults: true})
	serveProviders(t, sb, cfgPath, sandbox.ServerFaults{BillNotReady: 1}, day)

	// The intake receives the day's notifications.
	addr, _, stop := startServe(t, cfgPath)
	res, err := sb.DeliverDays(t.Context(), &http.Client{Timeout: 10 * time.Second}, "http://"+addr, io.Discard, day)
	if err != nil {
		t.Fatalf("%v: %v", err, res.Unexpected)
	}
	stop()

	// A dry run changes nothing.
	out := runBin(t, bin, "reconcile", "-config", cfgPath, "-date", "2026-11-20", "-dry-run")
	if !strings.Contains(out, "would repair") || !strings.Contains(out, "dry run: ledger, discrepancies and workbook left unchanged") {
		t.Fatalf("dry run output:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "var", "reports")); !os.IsNotExist(err) {
		t.Fatalf("dry run wrote reports: %v", err)
	}

	out = runBin(t, bin, "reconcile", "-config", cfgPath, "-date", "2026-11-20")
	for _, acct := range []string{"sandbox-ali", "sandbox-wx"} {
		p := payrecon.Alipay
		if acct == "sandbox-wx" {
			p = payrecon.WeChatPay
		}
		got := discrepancyRows(t, filepath.Join(dir, "var", "reports", acct, "2026-11-20.xlsx"), out)
		want := expectedDiscrepancies(day, p)
		for _, w := range want {
			if !got[w] {
				t.Errorf("%s: 差异 lacks %s; has %v", acct, w, keys(got))
			}
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d discrepancy rows, want %d: %v", acct, len(got), len(want), keys(got))
		}
	}

	// The history, and a re-run that repairs nothing twice.
	runs := runBin(t, bin, "runs", "-config", cfgPath)
	if strings.Count(runs, "2026-11-20") != 2 || !strings.Contains(runs, " ok ") || !strings.Contains(runs, " CST ") {
		t.Fatalf("runs (times in the configured zone, Asia/Shanghai):\n%s", runs)
	}
	checkRunTotals(t, bin, cfgPath)
	first := out
	out = runBin(t, bin, "reconcile", "-config", cfgPath, "-date", "2026-11-20")
	recovered := strings.Count(first, "-> RECOVERED ")
	if recovered == 0 || strings.Count(out, "-> RECOVERED (run ") != recovered || strings.Count(out, "-> RECOVERED") != recovered {
		t.Fatalf("re-run: want the first run's %d RECOVERED items, each settled by an earlier run:\n%s", recovered, out)
	}
	checkDeniedTrades(t, bin, cfgPath, day)
}

// checkRunTotals (issue 9, bug 5): "runs -json" gives each run's counts
// as an object and its totals, the five columns of the tie-out, with
// bill − ledger after = open for payments and refunds, to the fen.
func checkRunTotals(t *testing.T, bin, cfgPath string) {
	t.Helper()
	type totals struct {
		Payments    int   `json:"payments"`
		PaymentsFen int64 `json:"payments_fen"`
		Refunds     int   `json:"refunds"`
		RefundsFen  int64 `json:"refunds_fen"`
		FeesFen     int64 `json:"fees_fen"`
		NetFen      int64 `json:"net_fen"`
		// What the merchant actually receives (issue 9): discounts it
		// bears, fees returned on refunds, net settlement.
		DiscountsFen    int64 `json:"discounts_fen"`
		FeesReturnedFen int64 `json:"fees_returned_fen"`
		SettlementFen   int64 `json:"settlement_fen"`
	}
	out := runBin(t, bin, "runs", "-config", cfgPath, "-json")
	var discounts, returned int64
	for line := range strings.Lines(out) {
		var r struct {
			Counts map[string]int    `json:"counts"`
			Totals map[string]totals `json:"totals"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("runs -json line %q: %v", line, err)
		}
		b, a, o := r.Totals["bill"], r.Totals["ledger_after"], r.Totals["open"]
		_, before := r.Totals["ledger_before"]
		_, repaired := r.Totals["repaired"]
		if r.Counts["MATCHED"] == 0 || len(r.Totals) < 5 || !before || !repaired || b.Payments == 0 ||
			b.Payments-a.Payments != o.Payments || b.PaymentsFen-a.PaymentsFen != o.PaymentsFen ||
			b.Refunds-a.Refunds != o.Refunds || b.RefundsFen-a.RefundsFen != o.RefundsFen || b.NetFen-a.NetFen != o.NetFen {
			t.Fatalf("runs -json: the day does not tie out: %s", line)
		}
		for name, c := range r.Totals {
			if c.SettlementFen != c.NetFen-c.DiscountsFen || c.NetFen != c.PaymentsFen-c.RefundsFen-c.FeesFen {
				t.Fatalf("runs -json: %s: settlement %d is not net %d − discounts %d: %s", name, c.SettlementFen, c.NetFen, c.DiscountsFen, line)
			}
		}
		if b.SettlementFen-a.SettlementFen != o.SettlementFen || b.DiscountsFen-a.DiscountsFen != o.DiscountsFen {
			t.Fatalf("runs -json: settlement or discounts do not tie out: %s", line)
		}
		discounts, returned = discounts+b.DiscountsFen, returned+b.FeesReturnedFen
	}
	if discounts <= 0 || returned <= 0 {
		t.Fatalf("runs -json: no run states discounts (%d) or fees returned on refunds (%d):\n%s", discounts, returned, out)
	}
}

// checkDeniedTrades (issue 9, bug 4): every ghost the provider denied is
// CONFIRMED_ABSENT in "trades -json" (its status still PAID, as notified),
// "-state CONFIRMED_ABSENT" selects exactly the ghosts, and the text
// output never shows one as plainly PAID.
func checkDeniedTrades(t *testing.T, bin, cfgPath string, day *sandbox.Day) {
	t.Helper()
	ghosts := map[string]bool{}
	for _, g := range day.Ghosts {
		ghosts[g.OutTradeNo] = true
	}
	out := runBin(t, bin, "trades", "-config", cfgPath, "-json", "-state", "CONFIRMED_ABSENT")
	got := map[string]bool{}
	for line := range strings.Lines(out) {
		var tr struct {
			OutTradeNo string `json:"out_trade_no"`
			Status     string `json:"status"`
			ReconState string `json:"recon_state"`
			ReconRun   int64  `json:"recon_run_id"`
		}
		if err := json.Unmarshal([]byte(line), &tr); err != nil {
			t.Fatalf("trades -json line %q: %v", line, err)
		}
		if !ghosts[tr.OutTradeNo] || tr.Status != "PAID" || tr.ReconState != "CONFIRMED_ABSENT" || tr.ReconRun == 0 {
			t.Fatalf("trades -state CONFIRMED_ABSENT: %s", line)
		}
		got[tr.OutTradeNo] = true
	}
	if len(got) != len(ghosts) {
		t.Fatalf("denied trades %v, want the ghosts %v", got, ghosts)
	}
	text := runBin(t, bin, "trades", "-config", cfgPath)
	for line := range strings.Lines(text) {
		f := strings.Fields(line)
		if len(f) > 2 && ghosts[f[1]] && (f[2] != "PAID" || len(f) < 4 || f[3] != "(DENIED)" || !strings.HasSuffix(strings.TrimSpace(line), "CONFIRMED_ABSENT")) {
			t.Fatalf("trades shows a denied trade as %q", line)
		}
	}
	if !strings.Contains(text, "DENIED: the provider has no such paid trade") {
		t.Fatalf("trades text without the denial note:\n%s", text)
	}
}

// expectedDiscrepancies lists "code|kind|out_trade_no|out_refund_no|bill|ledger|resolution"
// for the faults GenerateDay injects.
func expectedDiscrepancies(d *sandbox.Day, p payrecon.Provider) []string {
	var out []string
	row := func(code, kind, out1, refund, bill, ledger, res string) string {
		return strings.Join([]string{code, kind, out1, refund, bill, ledger, res}, "|")
	}
	for _, t := range d.Trades {
		if t.Provider != p {
			continue
		}
		amt := t.AmountFen.Yuan()
		switch {
		case t.DropNotify || t.TamperNotify || t.DelayNotify:
			out = append(out, row("MISSING_LOCAL", "payment", t.OutTradeNo, "", amt, "", "RECOVERED"))
		case t.NotifyAmount != 0:
			out = append(out, row("AMOUNT_MISMATCH", "payment", t.OutTradeNo, "", amt, t.NotifyAmount.Yuan(), "NEEDS_REVIEW"))
		case t.NotifyShift != 0:
			out = append(out, row("CROSS_DAY", "payment", t.OutTradeNo, "", amt, amt, ""))
		}
		for _, r := range t.Refunds {
			if r.DropNotify {
				out = append(out, row("MISSING_LOCAL", "refund", t.OutTradeNo, r.OutRefundNo, r.AmountFen.Yuan(), "", "RECOVERED"))
			}
		}
	}
	for _, g := range d.Ghosts {
		if g.Provider == p {
			out = append(out, row("MISSING_CHANNEL", "payment", g.OutTradeNo, "", "", g.AmountFen.Yuan(), "CONFIRMED_ABSENT"))
		}
	}
	return out
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func runBin(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("payrecon %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// TestImportBill reconciles a bill file given by hand, in each provider's
// format, through the binary; a bill whose totals disagree fails loudly.
func TestImportBill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	fx := sandboxtest.New(t)
	dir, cfgPath, sb := fx.Dir, fx.Config, fx.Sandbox
	day := sb.GenerateDay(e2eDay, sandbox.DayOptions{Trades: 5, Seed: 1})
	aliZip := filepath.Join(dir, "ali.csv.zip")
	wxCSV := filepath.Join(dir, "wx.csv")
	bad := filepath.Join(dir, "bad.csv")
	var b bytes.Buffer
	sandbox.WriteAlipayBill(&b, sb.ID.Alipay.SellerID, e2eDay, day.BillRows(payrecon.Alipay), sandbox.BillOptions{})
	os.WriteFile(aliZip, b.Bytes(), 0o600)
	b.Reset()
	sandbox.WriteWeChatBill(&b, sb.ID.WeChat.MchID, sb.ID.WeChat.AppID, day.BillRows(payrecon.WeChatPay), sandbox.BillOptions{})
	os.WriteFile(wxCSV, b.Bytes(), 0o600)
	b.Reset()
	sandbox.WriteWeChatBill(&b, sb.ID.WeChat.MchID, sb.ID.WeChat.AppID, day.BillRows(payrecon.WeChatPay), sandbox.BillOptions{CorruptTotals: true})
	os.WriteFile(bad, b.Bytes(), 0o600)

	// The emulated providers know nothing of these trades and nothing was
	// notified: every row (5 payments, 1 refund) is MISSING_LOCAL and its query
	// NEEDS_REVIEW.
	serveProviders(t, sb, cfgPath, sandbox.ServerFaults{})
	// A dry run diffs and queries, and writes nothing at all: no archived
	// bill, no run, no workbook.
	dry := runBin(t, bin, "import-bill", "-config", cfgPath, "-account", "sandbox-ali", "-date", "2026-11-20", "-dry-run", aliZip)
	if !strings.Contains(dry, "MISSING_LOCAL=6") || !strings.Contains(dry, "dry run: ledger, discrepancies and workbook left unchanged") {
		t.Fatalf("dry-run import:\n%s", dry)
	}
	for _, p := range []string{"bills", "reports"} {
		if _, err := os.Stat(filepath.Join(dir, "var", p)); !os.IsNotExist(err) {
			t.Fatalf("dry-run import wrote var/%s (%v)", p, err)
		}
	}
	if runs := runBin(t, bin, "runs", "-config", cfgPath, "-json"); strings.TrimSpace(runs) != "" {
		t.Fatalf("dry-run import recorded runs: %s", runs)
	}
	out := runBin(t, bin, "import-bill", "-config", cfgPath, "-account", "sandbox-ali", "-date", "2026-11-20", aliZip)
	if !strings.Contains(out, "MISSING_LOCAL=6") || !strings.Contains(out, "NEEDS_REVIEW=6") {
		t.Fatalf("alipay import:\n%s", out)
	}
	out = runBin(t, bin, "import-bill", "-config", cfgPath, "-account", "sandbox-wx", "-date", "2026-11-20", wxCSV)
	if !strings.Contains(out, "MISSING_LOCAL=6") {
		t.Fatalf("wechatpay import:\n%s", out)
	}
	// The same bill gzipped, as the portal offers it: same bytes archived
	// (same SHA-256), same result.
	gz := filepath.Join(dir, "wx.csv.gz")
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	raw, _ := os.ReadFile(wxCSV)
	zw.Write(raw)
	zw.Close()
	os.WriteFile(gz, zb.Bytes(), 0o600)
	if out2 := runBin(t, bin, "import-bill", "-config", cfgPath, "-account", "sandbox-wx", "-date", "2026-11-20", gz); !strings.Contains(out2, "MISSING_LOCAL=6") {
		t.Fatalf("gz import:\n%s", out2)
	}
	cmd := exec.Command(bin, "import-bill", "-config", cfgPath, "-account", "sandbox-wx", "-date", "2026-11-19", bad)
	o, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(o), "bill totals do not match its rows") {
		t.Fatalf("corrupt bill: %v\n%s", err, o)
	}
	if _, err := os.Stat(filepath.Join(dir, "var", "reports", "sandbox-wx", "2026-11-19.xlsx")); !os.IsNotExist(err) {
		t.Fatal("a workbook was written for a bill that failed its totals")
	}
}

// serveProviders runs the provider emulator with the given days on a
// loopback port and points the config's gateway and base_url at it.
func serveProviders(t *testing.T, sb *sandbox.Sandbox, cfgPath string, faults sandbox.ServerFaults, days ...*sandbox.Day) {
	t.Helper()
	_, url := sandboxtest.Serve(t, sb, faults, days...)
	sandboxtest.PointConfig(t, cfgPath, url)
}

// discrepancyRows reads the workbook's 差异 sheet as keys
// code|kind|order|refund|bill|ledger|resolution, amounts in yuan as
// expectedDiscrepancies writes them (out is shown if the file is missing).
func discrepancyRows(t *testing.T, path, out string) map[string]bool {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatalf("workbook: %v\n%s", err, out)
	}
	rows, err := f.GetRows("差异")
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	yuan := func(s string) string { return strings.ReplaceAll(strings.TrimPrefix(s, "¥"), ",", "") }
	for _, r := range rows[1:] {
		// code, kind code, order, refund, bill, ledger (shown as ¥1,234.50), resolution code
		r = append(r, make([]string, 15)...)
		got[strings.Join([]string{r[0], r[14], r[3], r[5], yuan(r[6]), yuan(r[7]), r[13]}, "|")] = true
	}
	return got
}

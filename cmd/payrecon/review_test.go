package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/provider/sandbox/sandboxtest"
)

// reconciledDay plays a sandbox business day with faults into "payrecon
// serve", stops it and reconciles the day with the binary: the ledger then
// holds NEEDS_REVIEW items (the amount mismatches).
func reconciledDay(t *testing.T) (bin, dir, cfgPath string) {
	t.Helper()
	bin = buildBinary(t)
	fx := sandboxtest.New(t)
	dir, cfgPath = fx.Dir, fx.Config
	day := fx.Sandbox.GenerateDay(e2eDay, sandbox.DayOptions{Trades: 12, Seed: 7, Faults: true})
	serveProviders(t, fx.Sandbox, cfgPath, sandbox.ServerFaults{}, day)
	addr, _, stop := startServe(t, cfgPath)
	res, err := fx.Sandbox.DeliverDays(t.Context(), &http.Client{Timeout: 10 * time.Second}, "http://"+addr, io.Discard, day)
	if err != nil {
		t.Fatalf("%v: %v", err, res.Unexpected)
	}
	stop()
	runBin(t, bin, "reconcile", "-config", cfgPath, "-date", "2026-11-20")
	return bin, dir, cfgPath
}

type listedItem struct {
	ID          int64  `json:"id"`
	Account     string `json:"account"`
	Code        string `json:"code"`
	State       string `json:"state"`
	OutTradeNo  string `json:"out_trade_no"`
	BillFen     *int64 `json:"bill_fen"`
	LedgerFen   *int64 `json:"ledger_fen"`
	LedgerState string `json:"recon_state"`
}

func reviewItems(t *testing.T, bin, cfgPath string, args ...string) []listedItem {
	t.Helper()
	var items []listedItem
	for line := range strings.Lines(runBin(t, bin, append([]string{"review", "list", "-config", cfgPath, "-json"}, args...)...)) {
		var it listedItem
		if err := json.Unmarshal([]byte(line), &it); err != nil {
			t.Fatalf("review list -json line %q: %v", line, err)
		}
		items = append(items, it)
	}
	return items
}

// tradeJSON is one trade of "payrecon trades -json".
func tradeJSON(t *testing.T, bin, cfgPath, account, out string) map[string]any {
	t.Helper()
	for line := range strings.Lines(runBin(t, bin, "trades", "-config", cfgPath, "-account", account, "-json")) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		if m["out_trade_no"] == out {
			return m
		}
	}
	t.Fatalf("trades -json has no %s", out)
	return nil
}

// runBinRefused runs the binary and wants it to fail; it returns stdout and
// stderr.
func runBinRefused(t *testing.T, bin string, args ...string) (string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err == nil {
		t.Fatalf("payrecon %s succeeded:\n%s", strings.Join(args, " "), out.String())
	}
	return out.String(), errb.String()
}

// TestReviewThroughBinary: after a sandbox day, "review list" shows the
// amount mismatches as NEEDS_REVIEW; accepting the provider's record
// first previews (nothing changes, exit 1, a token), then, confirmed,
// repairs the amount with an audit row naming the operator and remark;
// the trade says RESOLVED_MANUALLY in "trades -json", and a re-run neither
// reopens nor downgrades it, and its workbook says so.
func TestReviewThroughBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin, dir, cfgPath := reconciledDay(t)
	var it, wx listedItem
	for _, i := range reviewItems(t, bin, cfgPath, "-state", "NEEDS_REVIEW", "-code", "AMOUNT_MISMATCH") {
		switch i.Account {
		case "sandbox-ali":
			it = i
		case "sandbox-wx":
			wx = i
		}
	}
	if wx.ID == 0 || it.ID == 0 || it.BillFen == nil || it.LedgerFen == nil || *it.BillFen == *it.LedgerFen || it.LedgerState != "NEEDS_REVIEW" {
		t.Fatalf("no NEEDS_REVIEW amount mismatch on sandbox-ali: %+v", reviewItems(t, bin, cfgPath))
	}
	id := itoa(it.ID)
	if out := runBin(t, bin, "review", "requery", "-config", cfgPath, "-operator", "zhao", id); !strings.Contains(out, "trade_status=TRADE_SUCCESS") {
		t.Fatalf("requery: %s", out)
	}
	if _, stderr := runBinRefused(t, bin, "review", "resolve", "-config", cfgPath, "-action", "accept-ledger", id); !strings.Contains(stderr, "remark is required") {
		t.Fatalf("no remark: %s", stderr)
	}
	out, stderr := runBinRefused(t, bin, "review", "resolve", "-config", cfgPath, "-action", "accept-provider", "-remark", "bill is right", "-operator", "wang", id)
	tok := regexp.MustCompile(`-confirm ([0-9a-f]{16})`).FindStringSubmatch(out)
	if tok == nil || !strings.Contains(out, "amount_fen: "+itoa(*it.LedgerFen)+" -> "+itoa(*it.BillFen)) || !strings.Contains(stderr, "confirm") {
		t.Fatalf("preview:\n%s\n%s", out, stderr)
	}
	if tr := tradeJSON(t, bin, cfgPath, it.Account, it.OutTradeNo); tr["recon_state"] != "NEEDS_REVIEW" || int64(tr["amount_fen"].(float64)) != *it.LedgerFen {
		t.Fatalf("the preview changed the trade: %v", tr)
	}
	runBinRefused(t, bin, "review", "resolve", "-config", cfgPath, "-action", "accept-provider", "-remark", "bill is right", "-confirm", "0000000000000000", id)
	out = runBin(t, bin, "review", "resolve", "-config", cfgPath, "-action", "accept-provider", "-remark", "bill is right", "-operator", "wang", "-confirm", tok[1], id)
	if !strings.Contains(out, "resolved (accept-provider) by wang") {
		t.Fatalf("resolve:\n%s", out)
	}
	if tr := tradeJSON(t, bin, cfgPath, it.Account, it.OutTradeNo); tr["recon_state"] != "RESOLVED_MANUALLY" || int64(tr["amount_fen"].(float64)) != *it.BillFen {
		t.Fatalf("resolved trade: %v", tr)
	}
	var shown struct {
		Open    bool `json:"open"`
		Queries []struct {
			Operator, Answer string
		} `json:"queries"`
		Audit []struct {
			Field, Operator, Remark string
		} `json:"audit"`
		BillLines []struct {
			N    int    `json:"n"`
			Text string `json:"text"`
		} `json:"bill_lines"`
	}
	if err := json.Unmarshal([]byte(runBin(t, bin, "review", "show", "-config", cfgPath, "-json", id)), &shown); err != nil {
		t.Fatal(err)
	}
	if len(shown.BillLines) == 0 || shown.BillLines[0].N < 2 || !strings.Contains(shown.BillLines[0].Text, it.OutTradeNo) {
		t.Fatalf("review show -json: bill lines %+v, want the trade's line in the archived bill", shown.BillLines)
	}
	if shown.Open || len(shown.Queries) != 1 || shown.Queries[0].Operator != "zhao" || len(shown.Audit) != 2 || shown.Audit[0].Field != "amount_fen" || shown.Audit[0].Operator != "wang" || shown.Audit[0].Remark != "bill is right" {
		t.Fatalf("review show -json: %+v", shown)
	}
	// Accepting the ledger's record changes no money: no confirmation.
	runBin(t, bin, "review", "resolve", "-config", cfgPath, "-action", "accept-ledger", "-remark", "bill is late", "-operator", "wang", itoa(wx.ID))
	runBin(t, bin, "reconcile", "-config", cfgPath, "-date", "2026-11-20")
	for _, i := range reviewItems(t, bin, cfgPath) {
		if i.OutTradeNo == it.OutTradeNo || i.OutTradeNo == wx.OutTradeNo {
			t.Fatalf("a re-run reopened %s: %+v", it.OutTradeNo, i)
		}
	}
	if tr := tradeJSON(t, bin, cfgPath, it.Account, it.OutTradeNo); tr["recon_state"] != "RESOLVED_MANUALLY" {
		t.Fatalf("a re-run changed the state: %v", tr)
	}
	if tr := tradeJSON(t, bin, cfgPath, wx.Account, wx.OutTradeNo); tr["recon_state"] != "RESOLVED_MANUALLY" || int64(tr["amount_fen"].(float64)) != *wx.LedgerFen {
		t.Fatalf("accepted ledger record: %v", tr)
	}
	if !workbookSays(t, filepath.Join(dir, "var", "reports", wx.Account, "2026-11-20.xlsx"), wx.OutTradeNo, "RESOLVED_MANUALLY") {
		t.Fatalf("the re-run's workbook does not show %s RESOLVED_MANUALLY", wx.OutTradeNo)
	}
}

func itoa[T ~int64](v T) string { return strconv.FormatInt(int64(v), 10) }

// workbookSays reports whether a row of the workbook's 差异 sheet names
// out and has a cell equal to want.
func workbookSays(t *testing.T, path, out, want string) bool {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows("差异")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if strings.Contains(strings.Join(r, "|"), out) {
			for _, c := range r {
				if c == want {
					return true
				}
			}
		}
	}
	return false
}

package reconcile_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/reconcile"
)

var update = flag.Bool("update", false, "rewrite the want sections of testdata/*.txt")

// TestGolden runs every testdata/*.txt case: a txtar-style file with
// sections "options", "ledger.csv", "bill.csv", "adjacent.csv" and "want".
// The day under test is 2026-11-20 in Asia/Shanghai (UTC+8).
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	day := payrecon.NewDay(2026, 11, 20)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			sec, order := parseTxtar(string(raw))
			opt := parseOptions(t, sec["options"])
			trades, refunds := parseLedger(t, sec["ledger.csv"])
			res := reconcile.Run(day, opt, parseBill(t, sec["bill.csv"]), parseBill(t, sec["adjacent.csv"]), trades, refunds)
			got := render(res)
			if *update {
				sec["want"] = got
				if err := os.WriteFile(f, []byte(formatTxtar(sec, order)), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got != sec["want"] {
				t.Errorf("diff of %s (run with -update to accept):\n--- got\n%s--- want\n%s", f, got, sec["want"])
			}
			if piped := render(runPipeline(t, day, opt, parseBill(t, sec["bill.csv"]), parseBill(t, sec["adjacent.csv"]), trades, refunds)); piped != got {
				t.Errorf("Pipeline of %s differs from Run:\n--- Pipeline\n%s--- Run\n%s", f, piped, got)
			}
		})
	}
}

func render(res reconcile.Result) string {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 4, 1, ' ', 0)
	fmt.Fprintln(tw, "code\tkind\tout_trade_no\tprovider_trade_no\tout_refund_no\tbill\tledger\tdiff\tnote")
	for _, it := range res.Items {
		bill, ledger := "-", "-"
		if it.HasBill {
			bill = it.BillFen.Yuan()
		}
		if it.HasLedger {
			ledger = it.LedgerFen.Yuan()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", it.Code, it.Kind, dash(it.OutTradeNo), dash(it.ProviderTradeNo),
			dash(it.OutRefundNo), bill, ledger, it.DiffFen().Yuan(), dash(it.Note))
	}
	tw.Flush()
	b.WriteString("\ncounts:")
	for _, c := range payrecon.Codes {
		if n := res.Counts[c]; n > 0 {
			fmt.Fprintf(&b, " %s=%d", c, n)
		}
	}
	b.WriteString("\n")
	return b.String()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func parseTxtar(s string) (map[string]string, []string) {
	sec := map[string]string{}
	var order []string
	cur := ""
	for _, line := range strings.SplitAfter(s, "\n") {
		if strings.HasPrefix(line, "-- ") && strings.HasSuffix(strings.TrimSpace(line), " --") {
			cur = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(line), "-- "), " --")
			order = append(order, cur)
			sec[cur] = ""
			continue
		}
		if cur != "" {
			sec[cur] += line
		}
	}
	return sec, order
}

func formatTxtar(sec map[string]string, order []string) string {
	var b strings.Builder
	for _, name := range order {
		fmt.Fprintf(&b, "-- %s --\n%s", name, sec[name])
	}
	return b.String()
}

func parseOptions(t *testing.T, s string) reconcile.Options {
	var o reconcile.Options
	for _, f := range strings.Fields(s) {
		k, v, _ := strings.Cut(f, "=")
		var n int64
		fmt.Sscan(v, &n)
		switch k {
		case "hold":
			o.HoldDays = int(n)
		case "fee_rate_e4":
			o.FeeRateE4 = n
		default:
			t.Fatalf("unknown option %q", k)
		}
	}
	return o
}

func rows(s string) [][]string {
	var out [][]string
	for i, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if i == 0 || strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue // header or comment
		}
		out = append(out, strings.Split(line, ","))
	}
	return out
}

func at(t *testing.T, s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	v, err := time.ParseInLocation("2006-01-02 15:04:05", s, payrecon.ShanghaiFixed)
	if err != nil {
		t.Fatal(err)
	}
	return v.UTC()
}

func yuan(t *testing.T, s string) payrecon.Fen {
	v, err := payrecon.ParseYuan(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// ledger.csv: kind,out_trade_no,provider_trade_no,out_refund_no,status,amount,at
func parseLedger(t *testing.T, s string) ([]reconcile.LedgerTrade, []reconcile.LedgerRefund) {
	var ts []reconcile.LedgerTrade
	var rs []reconcile.LedgerRefund
	for _, r := range rows(s) {
		if len(r) != 7 {
			t.Fatalf("ledger row %v: want 7 fields", r)
		}
		switch r[0] {
		case "trade":
			ts = append(ts, reconcile.LedgerTrade{OutTradeNo: r[1], ProviderTradeNo: r[2], Status: payrecon.TradeStatus(r[4]), AmountFen: yuan(t, r[5]), PaidAt: at(t, r[6])})
		case "refund":
			rs = append(rs, reconcile.LedgerRefund{OutTradeNo: r[1], OutRefundNo: r[3], Status: payrecon.RefundStatus(r[4]), AmountFen: yuan(t, r[5]), RefundedAt: at(t, r[6])})
		default:
			t.Fatalf("ledger kind %q", r[0])
		}
	}
	return ts, rs
}

// bill.csv: kind,out_trade_no,provider_trade_no,out_refund_no,amount,fee,at,status
func parseBill(t *testing.T, s string) []payrecon.BillEntry {
	var out []payrecon.BillEntry
	for i, r := range rows(s) {
		if len(r) != 8 {
			t.Fatalf("bill row %v: want 8 fields", r)
		}
		fee, err := payrecon.ParseYuanFixed(r[5], 5)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, payrecon.BillEntry{Kind: payrecon.EntryKind(r[0]), OutTradeNo: r[1], ProviderTradeNo: r[2], OutRefundNo: r[3],
			AmountFen: yuan(t, r[4]), FeeE5: fee, At: at(t, r[6]), Status: r[7], Line: i + 2})
	}
	return out
}

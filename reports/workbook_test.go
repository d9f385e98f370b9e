package reports_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/reconcile"
	"github.com/payrecon/payrecon/reports"
)

var day = time.Date(2026, 11, 20, 0, 0, 0, 0, payrecon.ShanghaiFixed)

func sample() (reconcile.Result, payrecon.BillTotals) {
	at := day.Add(10 * time.Hour)
	bill := []payrecon.BillEntry{
		{Kind: payrecon.EntryPayment, OutTradeNo: "M1", ProviderTradeNo: "P1", AmountFen: 12345, FeeE5: 74000, At: at, Status: "SUCCESS"},
		{Kind: payrecon.EntryPayment, OutTradeNo: "L1", ProviderTradeNo: "P2", AmountFen: 500, FeeE5: 3000, At: at, Status: "SUCCESS"},
		{Kind: payrecon.EntryRefund, OutTradeNo: "M1", ProviderTradeNo: "P1", OutRefundNo: "R1", AmountFen: 45, At: at, Status: "REFUND/SUCCESS"},
	}
	trades := []reconcile.LedgerTrade{{OutTradeNo: "M1", ProviderTradeNo: "P1", Status: payrecon.StatusPaid, AmountFen: 12345, PaidAt: at},
		{OutTradeNo: "C1", ProviderTradeNo: "P3", Status: payrecon.StatusPaid, AmountFen: 700, PaidAt: at}}
	refunds := []reconcile.LedgerRefund{{OutTradeNo: "M1", OutRefundNo: "R1", Status: payrecon.RefundSuccess, AmountFen: 45, RefundedAt: at}}
	res := reconcile.Run(payrecon.DayOf(day), reconcile.Options{}, bill, nil, trades, refunds)
	return res, payrecon.BillTotals{Payments: 2, Refunds: 1, PaymentFen: 12845, RefundFen: 45, FeeE5: 77000}
}

// sampleTieOut is how the sample day ties out: the ledger held M1 (and its
// refund R1) and the ghost C1; the run recovered L1; C1 stays open,
// CONFIRMED_ABSENT. Fees are the bill's on the rows the ledger holds.
func sampleTieOut() payrecon.TieOut {
	ghost := payrecon.Totals{Payments: -1, PaymentsFen: -700}.Settle()
	before := payrecon.Totals{Payments: 2, PaymentsFen: 13045, Refunds: 1, RefundsFen: 45, FeesFen: 74}.Settle()
	after := payrecon.Totals{Payments: 3, PaymentsFen: 13545, Refunds: 1, RefundsFen: 45, FeesFen: 77}.Settle()
	return payrecon.TieOut{
		Bill:         payrecon.Totals{Payments: 2, PaymentsFen: 12845, Refunds: 1, RefundsFen: 45, FeesFen: 77}.Settle(),
		LedgerBefore: before, Repaired: after.Sub(before), LedgerAfter: after, Open: ghost,
		OpenBy: map[payrecon.OpenCategory]payrecon.Totals{payrecon.OpenConfirmedAbsent: ghost},
	}
}

// sampleMeta is the run the sample workbook reports. GeneratedAt is fixed
// so that the golden files are stable.
func sampleMeta(locale string) reports.Meta {
	return reports.Meta{Account: "shop", Provider: payrecon.Alipay, Date: payrecon.NewDay(2026, 11, 20), Locale: locale,
		RunID: 3, Trigger: "cron", GeneratedAt: day.Add(26*time.Hour + 5*time.Minute), BillSHA256: "9f86d081884c7d65", BillOrigin: "download"}
}

// build writes the sample day's workbook, with callback health and
// registered orders so that every section of the summary is present, and
// returns the bytes written.
func build(t *testing.T, meta reports.Meta) []byte {
	t.Helper()
	res, tot := sample()
	w, err := reports.New(meta)
	if err != nil {
		t.Fatal(err)
	}
	w.SetHealth(payrecon.CallbackHealth{Notify: 1, Query: 0, BillOnly: 1}, []payrecon.HourHealth{
		{Hour: 9},
		{Hour: 10, CallbackHealth: payrecon.CallbackHealth{Notify: 1, BillOnly: 1}},
	})
	var trend []reports.DayHealth
	for i := range reports.TrendDays {
		d := payrecon.NewDay(2026, 11, 7).AddDays(i)
		trend = append(trend, reports.DayHealth{Day: d, CallbackHealth: payrecon.CallbackHealth{Notify: 20 + i, Query: i % 3, BillOnly: i % 2}})
	}
	w.SetHealthTrend(trend)
	w.SetOrders([]reports.Order{
		{OutTradeNo: "O1", AmountFen: 1000, Status: "paid", LastResult: "notify"},
		{OutTradeNo: "O2", AmountFen: 2050, Status: "waiting", LastResult: "WAIT_BUYER_PAY"},
		{OutTradeNo: "O3", AmountFen: 300, Status: "recovered", LastResult: "TRADE_SUCCESS"},
		{OutTradeNo: "O4", AmountFen: 99, Status: "expired", LastResult: "TRADE_NOT_EXIST"},
	})
	var ds []payrecon.Discrepancy
	for _, it := range res.Items {
		if err := w.Add(it); err != nil {
			t.Fatal(err)
		}
		switch it.Code {
		case payrecon.MissingLocal: // the dropped callback, recovered by run 7
			it.QueryResult, it.Resolution, it.ResolvedRun = "q", payrecon.OutcomeRecovered, 7
			ds = append(ds, it)
		case payrecon.MissingChannel: // the ghost
			it.QueryResult, it.Resolution, it.ResolvedRun = "not found", payrecon.OutcomeConfirmedAbsent, 3
			ds = append(ds, it)
		}
	}
	w.SetTotals(sampleTieOut())
	var b bytes.Buffer
	if err := w.Finish(tot, ds, &b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// open reads a workbook back with excelize.
func open(t *testing.T, b []byte) *excelize.File {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// rows reads a sheet's formatted rows and fails the test unless it has at
// least min rows.
func rows(t *testing.T, f *excelize.File, sheet string, min int) [][]string {
	t.Helper()
	rs, err := f.GetRows(sheet)
	if err != nil {
		t.Fatalf("%s: %v", sheet, err)
	}
	if len(rs) < min {
		t.Fatalf("%s: %d rows, want at least %d: %q", sheet, len(rs), min, rs)
	}
	return rs
}

// cell is rs[row][col], or "" when the row is shorter.
func cell(rs [][]string, row, col int) string {
	if row >= len(rs) || col >= len(rs[row]) {
		return ""
	}
	return rs[row][col]
}

func TestWorkbookChinese(t *testing.T) {
	f := open(t, build(t, sampleMeta("")))
	if got := f.GetSheetList(); len(got) != 4 || got[0] != "汇总" || got[1] != "差异" || got[2] != "明细" || got[3] != "退款" {
		t.Fatalf("sheets %v", got)
	}
	rs := rows(t, f, "差异", 3)
	if len(rs) != 3 || cell(rs, 0, 0) != "代码" || cell(rs, 1, 0) != "MISSING_LOCAL" || cell(rs, 1, 1) != "渠道有本地无（疑似回调丢失）" ||
		cell(rs, 1, 6) != "¥5.00" || cell(rs, 1, 2) != "支付" || cell(rs, 1, 10) != "已补单" || cell(rs, 1, 13) != "RECOVERED" || cell(rs, 1, 14) != "payment" ||
		cell(rs, 2, 0) != "MISSING_CHANNEL" || cell(rs, 2, 7) != "¥7.00" || cell(rs, 2, 10) != "渠道无此单" || cell(rs, 2, 12) != "已通知，账单中没有" {
		t.Fatalf("差异 rows %q", rs)
	}
	// Money cells are numbers with a two-decimal format, not text.
	typ, err := f.GetCellType("明细", "C2")
	// (no t attribute means a number in SpreadsheetML)
	if err != nil || (typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset) {
		t.Fatalf("明细!C2 type %v %v", typ, err)
	}
	if raw, err := f.GetCellValue("明细", "C2", excelize.Options{RawCellValue: true}); err != nil || raw != "123.45" {
		t.Fatalf("明细!C2 raw %q %v", raw, err)
	}
	if v, err := f.GetCellValue("退款", "B2"); err != nil || v != "R1" {
		t.Fatalf("退款!B2 %q %v", v, err)
	}
	panes, err := f.GetPanes("明细")
	if err != nil || !panes.Freeze || panes.YSplit != 1 {
		t.Fatalf("明细 panes %+v %v", panes, err)
	}
	tables, err := f.GetTables("差异")
	if err != nil || len(tables) != 1 || tables[0].Range != "A1:O3" {
		t.Fatalf("差异 tables %+v %v", tables, err)
	}
}

func TestWorkbookEnglish(t *testing.T) {
	f := open(t, build(t, sampleMeta("en")))
	if got := f.GetSheetList(); len(got) != 4 || got[0] != "Summary" || got[1] != "Discrepancies" || got[2] != "Details" || got[3] != "Refunds" {
		t.Fatalf("sheets %v", got)
	}
	rs := rows(t, f, "Discrepancies", 2)
	if got := cell(rs, 1, 1); got != "In bill, not in ledger (suspected dropped callback)" {
		t.Fatalf("label %q in %q", got, rs)
	}
}

func TestDetailSheetSplits(t *testing.T) {
	at := day.Add(time.Hour)
	var bill []payrecon.BillEntry
	var trades []reconcile.LedgerTrade
	for i := range 7 {
		no := string(rune('a' + i))
		bill = append(bill, payrecon.BillEntry{Kind: payrecon.EntryPayment, OutTradeNo: no, ProviderTradeNo: "P" + no, AmountFen: 100, At: at})
		trades = append(trades, reconcile.LedgerTrade{OutTradeNo: no, ProviderTradeNo: "P" + no, Status: payrecon.StatusPaid, AmountFen: 100, PaidAt: at})
	}
	res := reconcile.Run(payrecon.DayOf(day), reconcile.Options{}, bill, nil, trades, nil)
	w, err := reports.New(reports.Meta{Account: "s", Date: payrecon.NewDay(2026, 11, 20), RowsPerSheet: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range res.Items {
		if err := w.Add(it); err != nil {
			t.Fatalf("Add %s: %v", it.OutTradeNo, err)
		}
	}
	var b bytes.Buffer
	if err := w.Finish(payrecon.BillTotals{Payments: 7, PaymentFen: 700}, nil, &b); err != nil {
		t.Fatal(err)
	}
	f := open(t, b.Bytes())
	want := map[string]int{"明细": 4, "明细 (2)": 4, "明细 (3)": 2} // header + rows
	for sheet, n := range want {
		rs, err := f.GetRows(sheet)
		if err != nil || len(rs) != n || cell(rs, 0, 0) != "商户订单号" {
			t.Errorf("%s: %d rows %q, %v", sheet, len(rs), rs, err)
		}
	}
	if got := f.GetSheetList(); len(got) != 6 {
		t.Errorf("sheets %v, want 汇总, 差异, 明细 ×3, 退款", got)
	}
}

// TestTimesInDisplayZone: times are date-time cells showing the wall
// clock of Meta.Loc, and 汇总 names the zone beside the generation time.
func TestTimesInDisplayZone(t *testing.T) {
	meta := sampleMeta("")
	meta.Loc = time.UTC
	f := open(t, build(t, meta))
	for _, c := range []struct{ sheet, ref, want string }{
		{"明细", "F2", "2026-11-20 02:00:00"}, // 10:00 Beijing time
		{"退款", "G2", "2026-11-20 02:00:00"},
		{"汇总", "B9", "2026-11-20 18:05:00"},
		{"汇总", "C9", "UTC+00:00"},
	} {
		if got, err := f.GetCellValue(c.sheet, c.ref); err != nil || got != c.want {
			t.Errorf("%s!%s = %q %v, want %q", c.sheet, c.ref, got, err, c.want)
		}
	}
	if typ, err := f.GetCellType("明细", "F2"); err != nil || typ != excelize.CellTypeUnset {
		t.Errorf("明细!F2 type %v %v, want a number (a date-time)", typ, err)
	}
}

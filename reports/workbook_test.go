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
		{Kind: payrecon.EntryPayment, OutTradeNo: "M1", ProviderTradeNo: "P1", AmountFen: 12345, At: at, Status: "SUCCESS"},
		{Kind: payrecon.EntryPayment, OutTradeNo: "L1", ProviderTradeNo: "P2", AmountFen: 500, At: at, Status: "SUCCESS"},
		{Kind: payrecon.EntryRefund, OutTradeNo: "M1", ProviderTradeNo: "P1", OutRefundNo: "R1", AmountFen: 45, At: at, Status: "REFUND/SUCCESS"},
	}
	trades := []reconcile.LedgerTrade{{OutTradeNo: "M1", ProviderTradeNo: "P1", Status: payrecon.StatusPaid, AmountFen: 12345, PaidAt: at},
		{OutTradeNo: "C1", ProviderTradeNo: "P3", Status: payrecon.StatusPaid, AmountFen: 700, PaidAt: at}}
	refunds := []reconcile.LedgerRefund{{OutTradeNo: "M1", OutRefundNo: "R1", Status: payrecon.RefundSuccess, AmountFen: 45, RefundedAt: at}}
	res := reconcile.Run(payrecon.DayOf(day), reconcile.Options{}, bill, nil, trades, refunds)
	return res, payrecon.BillTotals{Payments: 2, Refunds: 1, PaymentFen: 12845, RefundFen: 45, FeeE5: 77000}
}

func write(t *testing.T, locale string) *excelize.File {
	res, tot := sample()
	w, err := reports.New(reports.Meta{Account: "shop", Provider: payrecon.Alipay, Date: payrecon.NewDay(2026, 11, 20), Locale: locale, RunID: 3, GeneratedAt: day})
	if err != nil {
		t.Fatal(err)
	}
	var ds []payrecon.Discrepancy
	for _, it := range res.Items {
		if err := w.Add(it); err != nil {
			t.Fatal(err)
		}
		if it.Code != payrecon.Matched {
			it.QueryResult, it.Resolution = "q", payrecon.OutcomeRecovered
			ds = append(ds, it)
		}
	}
	var b bytes.Buffer
	if err := w.Finish(tot, ds, &b); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestWorkbookChinese(t *testing.T) {
	f := write(t, "")
	if got := f.GetSheetList(); len(got) != 4 || got[0] != "汇总" || got[1] != "差异" || got[2] != "明细" || got[3] != "退款" {
		t.Fatalf("sheets %v", got)
	}
	rows, err := f.GetRows("差异")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0][0] != "代码" || rows[1][0] != "MISSING_LOCAL" || rows[1][1] != "渠道有本地无（疑似回调丢失）" ||
		rows[1][6] != "5.00" || rows[2][0] != "MISSING_CHANNEL" || rows[2][7] != "7.00" {
		t.Fatalf("差异 rows %q", rows)
	}
	// Money cells are numbers with a two-decimal format, not text.
	typ, err := f.GetCellType("明细", "C2")
	// (no t attribute means a number in SpreadsheetML)
	if err != nil || (typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset) {
		t.Fatalf("明细!C2 type %v %v", typ, err)
	}
	raw, _ := f.GetCellValue("明细", "C2", excelize.Options{RawCellValue: true})
	if raw != "123.45" {
		t.Fatalf("明细!C2 raw %q", raw)
	}
	if v, _ := f.GetCellValue("退款", "B2"); v != "R1" {
		t.Fatalf("退款!B2 %q", v)
	}
	panes, err := f.GetPanes("明细")
	if err != nil || !panes.Freeze || panes.YSplit != 1 {
		t.Fatalf("明细 panes %+v %v", panes, err)
	}
	tables, err := f.GetTables("差异")
	if err != nil || len(tables) != 1 || tables[0].Range != "A1:L3" {
		t.Fatalf("差异 tables %+v %v", tables, err)
	}
	sum, _ := f.GetRows("汇总")
	found := false
	for _, r := range sum {
		if len(r) >= 3 && r[0] == "MISSING_LOCAL" && r[2] == "1" {
			found = true
		}
	}
	if !found {
		t.Fatalf("汇总 lacks the MISSING_LOCAL count: %q", sum)
	}
}

func TestWorkbookEnglish(t *testing.T) {
	f := write(t, "en")
	if got := f.GetSheetList(); got[0] != "Summary" || got[1] != "Discrepancies" {
		t.Fatalf("sheets %v", got)
	}
	rows, _ := f.GetRows("Discrepancies")
	if rows[1][1] != "In bill, not in ledger (suspected dropped callback)" {
		t.Fatalf("label %q", rows[1][1])
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
		w.Add(it)
	}
	var b bytes.Buffer
	if err := w.Finish(payrecon.BillTotals{Payments: 7, PaymentFen: 700}, nil, &b); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&b)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string]int{"明细": 4, "明细 (2)": 4, "明细 (3)": 2} // header + rows
	for sheet, n := range want {
		rows, err := f.GetRows(sheet)
		if err != nil || len(rows) != n || rows[0][0] != "商户订单号" {
			t.Errorf("%s: %d rows, %v", sheet, len(rows), err)
		}
	}
}

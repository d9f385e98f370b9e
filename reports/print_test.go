package reports_test

import (
	"archive/zip"
	"bytes"
	"html"
	"io"
	"strings"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/reports"
)

// TestHealthChart: 汇总 carries a stacked column chart of the 14-day
// callback health whose series are the table's notify, query and
// bill-only columns, with the days as categories.
func TestHealthChart(t *testing.T) {
	b := build(t, sampleMeta(""))
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	chart := html.UnescapeString(readZip(t, zr, "xl/charts/chart1.xml"))
	for _, want := range []string{`<barDir val="col"`, `<grouping val="stacked"`, `<varyColors val="0"`,
		`'汇总'!$B$68`, `'汇总'!$C$68`, `'汇总'!$D$68`, `'汇总'!$A$69:$A$82`, `'汇总'!$B$69:$B$82`, `'汇总'!$D$69:$D$82`, "回调健康度（近 14 天）"} {
		if !strings.Contains(chart, want) {
			t.Errorf("chart lacks %s", want)
		}
	}
	f := open(t, b)
	if v, _ := f.GetCellValue("汇总", "A68"); v != "回调健康度（近 14 天）" {
		t.Errorf("汇总!A68 %q, want the trend table's header", v)
	}
	if v, _ := f.GetCellValue("汇总", "A82"); v != "2026-11-20" {
		t.Errorf("汇总!A82 %q, want the report's day last", v)
	}
	if !strings.Contains(readZip(t, zr, "xl/worksheets/sheet1.xml"), "<drawing ") {
		t.Error("汇总 has no drawing")
	}
}

func readZip(t *testing.T, zr *zip.Reader, name string) string {
	t.Helper()
	rc, err := zr.Open(name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestBanner: the first line of 汇总 counts what needs action and the
// amount at stake, coloured by severity: green when nothing does, amber
// when only PENDING items wait for the next day, red otherwise.
func TestBanner(t *testing.T) {
	pending := payrecon.Discrepancy{Code: payrecon.MissingLocal, Kind: payrecon.EntryPayment, HasBill: true, BillFen: 123456, Resolution: payrecon.OutcomePending}
	review := payrecon.Discrepancy{Code: payrecon.AmountMismatch, Kind: payrecon.EntryPayment, HasBill: true, BillFen: 1000, HasLedger: true, LedgerFen: 1200,
		Resolution: payrecon.OutcomeNeedsReview}
	recovered := payrecon.Discrepancy{Code: payrecon.MissingLocal, Kind: payrecon.EntryPayment, HasBill: true, BillFen: 500, Resolution: payrecon.OutcomeRecovered}
	carried := payrecon.Discrepancy{Code: payrecon.CrossDay, Kind: payrecon.EntryPayment, HasBill: true, BillFen: 700, HasLedger: true, LedgerFen: 700}
	for _, tc := range []struct {
		name, locale string
		ds           []payrecon.Discrepancy
		text, fill   string
	}{
		{"none", "", []payrecon.Discrepancy{recovered, carried}, "无需处理：所有差异均已处理或结转", "E2EFDA"},
		{"pending", "", []payrecon.Discrepancy{pending, recovered}, "1 项需要处理，涉及金额 ¥1,234.56", "FFF2CC"},
		{"review", "", []payrecon.Discrepancy{pending, review}, "2 项需要处理，涉及金额 ¥1,236.56", "C00000"},
		{"review en", "en", []payrecon.Discrepancy{review}, "1 item needs action, ¥2.00 at stake", "C00000"},
		{"two en", "en", []payrecon.Discrepancy{pending, review, carried}, "2 items need action, ¥1,236.56 at stake", "C00000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := reports.New(reports.Meta{Account: "s", Date: payrecon.NewDay(2026, 11, 20), Locale: tc.locale})
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := w.Finish(payrecon.BillTotals{}, tc.ds, &b); err != nil {
				t.Fatal(err)
			}
			f := open(t, b.Bytes())
			sheet := f.GetSheetName(0)
			if v, err := f.GetCellValue(sheet, "A1"); err != nil || v != tc.text {
				t.Errorf("banner %q %v, want %q", v, err, tc.text)
			}
			id, err := f.GetCellStyle(sheet, "A1")
			if err != nil {
				t.Fatal(err)
			}
			st, err := f.GetStyle(id)
			if err != nil || len(st.Fill.Color) != 1 || st.Fill.Color[0] != tc.fill {
				t.Errorf("banner fill %+v %v, want %s", st.Fill, err, tc.fill)
			}
		})
	}
}

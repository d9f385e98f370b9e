package reports_test

import (
	"bytes"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/reports"
)

// TestBannerLeavesForeignCurrencyOut: a CURRENCY_MISMATCH needs action and
// is counted in the banner, but its amount (USD cents, not fen) is never
// added to the yuan at stake; a reclassified item moves to its new code
// in the per-code counts.
func TestBannerLeavesForeignCurrencyOut(t *testing.T) {
	w, err := reports.New(sampleMeta("zh"))
	if err != nil {
		t.Fatal(err)
	}
	usd := payrecon.Discrepancy{Code: payrecon.MissingLocal, Kind: payrecon.EntryPayment, OutTradeNo: "U1", BillFen: 70000, HasBill: true,
		BillAt: day, Resolution: payrecon.OutcomeNeedsReview}
	cny := payrecon.Discrepancy{Code: payrecon.MissingChannel, Kind: payrecon.EntryPayment, OutTradeNo: "C1", LedgerFen: 300, HasLedger: true,
		LedgerAt: day, Resolution: payrecon.OutcomeNeedsReview}
	for _, it := range []payrecon.Discrepancy{usd, cny} {
		if err := w.Add(it); err != nil {
			t.Fatal(err)
		}
	}
	was := usd
	usd.Code, usd.Currency = payrecon.CurrencyMismatch, "USD"
	w.Reclassify(was, usd)
	var b bytes.Buffer
	if err := w.Finish(payrecon.BillTotals{}, []payrecon.Discrepancy{usd, cny}, &b); err != nil {
		t.Fatal(err)
	}
	f := open(t, b.Bytes())
	if v, _ := f.GetCellValue("汇总", "A1"); v != "2 项需要处理，涉及金额 ¥3.00" {
		t.Errorf("banner %q, want 2 items and ¥3.00 at stake", v)
	}
	rows, _ := f.GetRows("汇总")
	counts := map[string]string{}
	for _, r := range rows {
		if len(r) > 2 {
			counts[r[0]] = r[2]
		}
	}
	if counts["CURRENCY_MISMATCH"] != "1" || counts["MISSING_LOCAL"] != "0" {
		t.Errorf("per-code counts CURRENCY_MISMATCH %q MISSING_LOCAL %q, want 1 and 0", counts["CURRENCY_MISMATCH"], counts["MISSING_LOCAL"])
	}
}

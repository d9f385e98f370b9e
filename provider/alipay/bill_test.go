package alipay_test

import (
	"archive/zip"
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider/alipay"
	"github.com/payrecon/payrecon/provider/sandbox"
)

var day = time.Date(2026, 11, 20, 0, 0, 0, 0, payrecon.ShanghaiFixed)

func billRows() []sandbox.BillRow {
	at := day.Add(10 * time.Hour)
	return []sandbox.BillRow{
		{Kind: payrecon.EntryPayment, OutTradeNo: "O1", ProviderTradeNo: "2026112022001", AmountFen: 12345, Created: at.Add(-time.Minute), At: at, Subject: "咖啡, 大杯"},
		{Kind: payrecon.EntryPayment, OutTradeNo: "O2", ProviderTradeNo: "2026112022002", AmountFen: 1, Created: at, At: at},
		{Kind: payrecon.EntryRefund, OutTradeNo: "O1", ProviderTradeNo: "2026112022001", OutRefundNo: "R1", AmountFen: 345, Created: at.Add(-time.Minute), At: at.Add(time.Hour)},
	}
}

func zipOf(t testing.TB, rows []sandbox.BillRow, opt sandbox.BillOptions) []byte {
	var b bytes.Buffer
	if err := sandbox.WriteAlipayBill(&b, "2088000000000001", day, slices.Values(rows), opt); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func collect(t *testing.T, b []byte) ([]payrecon.BillEntry, payrecon.BillTotals, error) {
	var got []payrecon.BillEntry
	tot, err := alipay.ParseBillZip(bytes.NewReader(b), int64(len(b)), func(e payrecon.BillEntry) error {
		got = append(got, e)
		return nil
	})
	return got, tot, err
}

func TestParseSandboxBill(t *testing.T) {
	got, tot, err := collect(t, zipOf(t, billRows(), sandbox.BillOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || tot.Payments != 2 || tot.Refunds != 1 || tot.PaymentFen != 12346 || tot.RefundFen != 345 {
		t.Fatalf("totals %+v, %d rows", tot, len(got))
	}
	r := got[2]
	if r.Kind != payrecon.EntryRefund || r.OutTradeNo != "O1" || r.ProviderTradeNo != "2026112022001" || r.OutRefundNo != "R1" ||
		r.AmountFen != 345 || !r.At.Equal(day.Add(11*time.Hour)) || r.FeeE5 != -2000 {
		t.Fatalf("refund row %+v", r)
	}
	if p := got[0]; p.AmountFen != 12345 || p.FeeE5 != 74000 || p.Line != 6 {
		t.Fatalf("payment row %+v", p)
	}
}

func TestParseBillRejects(t *testing.T) {
	if _, _, err := collect(t, zipOf(t, billRows(), sandbox.BillOptions{CorruptTotals: true})); !errors.As(err, new(*payrecon.TotalsMismatchError)) {
		t.Fatalf("corrupt totals: %v", err)
	}
	if _, _, err := collect(t, []byte("not a zip")); !errors.Is(err, alipay.ErrBillFormat) {
		t.Fatalf("not a zip: %v", err)
	}
	// A bill cut off before its footer is refused, not half-read.
	full := zipOf(t, billRows(), sandbox.BillOptions{})
	var csv bytes.Buffer
	alipayCSV(t, full, &csv)
	cut := csv.Bytes()[:bytes.Index(csv.Bytes(), []byte("#-----"))+10]
	cut = append([]byte(nil), cut...)
	if _, err := alipay.ParseBillCSV(bytes.NewReader(cut), func(payrecon.BillEntry) error { return nil }); err == nil {
		t.Fatal("truncated bill accepted")
	}
}

func TestParseEmptyDay(t *testing.T) {
	got, tot, err := collect(t, zipOf(t, nil, sandbox.BillOptions{}))
	if err != nil || len(got) != 0 || tot != (payrecon.BillTotals{}) {
		t.Fatalf("%v %+v %v", got, tot, err)
	}
}

// alipayCSV extracts the detail CSV bytes (GBK) from a bill ZIP.
func alipayCSV(t testing.TB, zipBytes []byte, w *bytes.Buffer) {
	t.Helper()
	zr, err := zipReader(zipBytes)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if !f.NonUTF8 {
			t.Fatalf("entry %q has the UTF-8 flag; Alipay's do not", f.Name)
		}
		rc, _ := f.Open()
		defer rc.Close()
		if bytes.Contains([]byte(f.Name), []byte("(")) {
			continue // the 汇总 file
		}
		w.ReadFrom(rc)
		return
	}
}

func FuzzParseBillCSV(f *testing.F) {
	var seed bytes.Buffer
	alipayCSV(f, zipOf(f, billRows(), sandbox.BillOptions{}), &seed)
	f.Add(seed.Bytes())
	f.Add([]byte("#支付宝业务明细查询\n支付宝交易号\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		// Whatever the bytes, every row handed on is a well-formed entry.
		alipay.ParseBillCSV(bytes.NewReader(b), func(e payrecon.BillEntry) error {
			if err := checkEntry(e); err != "" {
				t.Fatalf("%s: %+v", err, e)
			}
			return nil
		})
	})
}

func zipReader(b []byte) (*zip.Reader, error) {
	return zip.NewReader(bytes.NewReader(b), int64(len(b)))
}

// checkEntry returns what is wrong with a parsed row, or "".
func checkEntry(e payrecon.BillEntry) string {
	switch {
	case e.Kind != payrecon.EntryPayment && e.Kind != payrecon.EntryRefund:
		return "unknown kind"
	case e.OutTradeNo == "" && e.ProviderTradeNo == "":
		return "no trade number"
	case e.Kind == payrecon.EntryRefund && e.OutRefundNo == "":
		return "refund without a refund number"
	case e.Line <= 0 || e.At.IsZero():
		return "no line or time"
	}
	return ""
}

package alipay_test

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider/alipay"
	"github.com/payrecon/payrecon/provider/sandbox"
)

// parsed is everything ParseBillCSV tells about a file.
type parsed struct {
	rows []payrecon.BillEntry
	tot  payrecon.BillTotals
	err  string
}

func parseCSV(r interface{ Read([]byte) (int, error) }) parsed {
	var p parsed
	tot, err := alipay.ParseBillCSV(r, func(e payrecon.BillEntry) error {
		p.rows = append(p.rows, e)
		return nil
	})
	p.tot, p.err = tot, fmt.Sprint(err)
	return p
}

// viaTransform parses b the slow way: the whole stream through a GB18030
// decoder first, then the UTF-8 text.
func viaTransform(b []byte) parsed {
	return parseCSV(transform.NewReader(bytes.NewReader(b), simplifiedchinese.GB18030.NewDecoder()))
}

// chineseRows is a day whose rows carry Chinese subjects, order and
// refund numbers (and a comma, full-width brackets and the euro sign).
func chineseRows() []sandbox.BillRow {
	at := day.Add(9 * time.Hour)
	var rows []sandbox.BillRow
	for i, subj := range []string{"咖啡, 大杯", "拿铁（热）", "测试商品—会员月卡", "鑫字招牌", "", "欧元€商品"} {
		r := sandbox.BillRow{Kind: payrecon.EntryPayment, OutTradeNo: fmt.Sprintf("中%d", i), ProviderTradeNo: fmt.Sprintf("20261120220%02d", i),
			AmountFen: payrecon.Fen(100 + i), Created: at, At: at.Add(time.Duration(i) * time.Minute), Subject: subj, DiscountFen: payrecon.Fen(i % 2)}
		rows = append(rows, r)
		if i%2 == 0 {
			rf := r
			rf.Kind, rf.OutRefundNo, rf.AmountFen, rf.DiscountFen = payrecon.EntryRefund, fmt.Sprintf("退%d", i), 50, 0
			rows = append(rows, rf)
		}
	}
	return rows
}

// TestGBKFastPathMatchesTransform: the GBK bill read in place (fields
// decoded only where needed) gives exactly the rows, totals and outcome of
// decoding the whole file first.
func TestGBKFastPathMatchesTransform(t *testing.T) {
	var csv bytes.Buffer
	alipayCSV(t, zipOf(t, chineseRows(), sandbox.BillOptions{}), &csv)
	if !readAsGBK(csv.Bytes()) {
		t.Fatal("the sandbox bill is not GBK")
	}
	got, want := parseCSV(bytes.NewReader(csv.Bytes())), viaTransform(csv.Bytes())
	if want.err != "<nil>" || len(want.rows) != 9 {
		t.Fatalf("the transformed bill: %d rows, %s", len(want.rows), want.err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("in place:\n%+v\nvia transform:\n%+v", got, want)
	}
	if r := got.rows[1]; r.OutTradeNo != "中0" || r.OutRefundNo != "退0" || r.Status != "退款" {
		t.Fatalf("refund row %+v", r)
	}
	// A Chinese character where an amount belongs fails the same way.
	bad := bytes.Replace(csv.Bytes(), []byte(",1.00,"), gbk(t, ",一.00,"), 1)
	if got, want := parseCSV(bytes.NewReader(bad)), viaTransform(bad); want.err == "<nil>" || !reflect.DeepEqual(got, want) {
		t.Fatalf("bad amount: in place %s, via transform %s", got.err, want.err)
	}
}

// readAsGBK says whether ParseBillCSV takes b for GBK: its first 256
// bytes, less a rune cut off at their end, are not UTF-8.
func readAsGBK(b []byte) bool {
	head := b[:min(len(b), 256)]
	for i := 0; i < utf8.UTFMax && len(head) > 0; i++ {
		if r, _ := utf8.DecodeLastRune(head); r != utf8.RuneError {
			break
		}
		head = head[:len(head)-1]
	}
	return !utf8.Valid(head)
}

func gbk(t testing.TB, s string) []byte {
	b, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzParseBillGBK: whatever the bytes of a GBK file, reading it in place
// and decoding it whole first agree on every row, the totals and the error.
func FuzzParseBillGBK(f *testing.F) {
	var seed bytes.Buffer
	alipayCSV(f, zipOf(f, chineseRows(), sandbox.BillOptions{}), &seed)
	f.Add(seed.Bytes())
	alipayCSV(f, zipOf(f, billRows(), sandbox.BillOptions{}), &seed)
	f.Add(seed.Bytes())
	f.Add([]byte("#\xd6\xa7\xb8\xb6\xb1\xa6\n\x81,\x81\x30,\"\xfe\"\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if !readAsGBK(b) {
			return // the parser reads it as UTF-8: no GBK path to compare
		}
		if got, want := parseCSV(bytes.NewReader(b)), viaTransform(b); !reflect.DeepEqual(got, want) {
			t.Fatalf("in place:\n%+v\nvia transform:\n%+v", got, want)
		}
	})
}

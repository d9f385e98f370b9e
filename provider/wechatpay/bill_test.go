package wechatpay_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider/providertest"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/provider/wechatpay"
)

func wxRows() []sandbox.BillRow {
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, payrecon.ShanghaiFixed)
	return []sandbox.BillRow{
		{Kind: payrecon.EntryPayment, OutTradeNo: "W1", ProviderTradeNo: "4200001", AmountFen: 10000, At: at, Subject: "a,b`c"},
		{Kind: payrecon.EntryPayment, OutTradeNo: "W2", ProviderTradeNo: "4200002", AmountFen: 99, At: at},
		{Kind: payrecon.EntryRefund, OutTradeNo: "W1", ProviderTradeNo: "4200001", OutRefundNo: "WR1", ProviderRefundNo: "5030001", AmountFen: 2500, At: at.Add(time.Hour)},
	}
}

func parse(t testing.TB, b []byte) ([]payrecon.BillEntry, payrecon.BillTotals, error) {
	var got []payrecon.BillEntry
	tot, err := wechatpay.ParseBill(bytes.NewReader(b), func(e payrecon.BillEntry) error {
		got = append(got, e)
		return nil
	})
	return got, tot, err
}

func sandboxBill(t testing.TB, opt sandbox.BillOptions) []byte {
	var b bytes.Buffer
	if err := sandbox.WriteWeChatBill(&b, "1900000001", "wx01", slices.Values(wxRows()), opt); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestParseSandboxBill(t *testing.T) {
	b := sandboxBill(t, sandbox.BillOptions{})
	for name, in := range map[string][]byte{
		"CRLF":   b,
		"LF":     bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")),
		"BOM+LF": append([]byte("\uFEFF"), bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))...),
		"no EOL": bytes.TrimRight(b, "\r\n"),
	} {
		got, tot, err := parse(t, in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(got) != 3 || tot.Payments != 2 || tot.Refunds != 1 || tot.PaymentFen != 10099 || tot.RefundFen != 2500 {
			t.Fatalf("%s: %+v", name, tot)
		}
		r := got[2]
		if r.Kind != payrecon.EntryRefund || r.OutRefundNo != "WR1" || r.ProviderRefundNo != "5030001" || r.AmountFen != 2500 || r.FeeE5 != -15000 || r.Status != "REFUND/SUCCESS" {
			t.Fatalf("%s: refund %+v", name, r)
		}
		if p := got[0]; p.AmountFen != 10000 || p.FeeE5 != 60000 || !p.At.Equal(time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)) {
			t.Fatalf("%s: payment %+v", name, p)
		}
	}
}

func TestParseBillRejects(t *testing.T) {
	if _, _, err := parse(t, sandboxBill(t, sandbox.BillOptions{CorruptTotals: true})); !errors.As(err, new(*payrecon.TotalsMismatchError)) {
		t.Fatalf("corrupt totals: %v", err)
	}
	b := sandboxBill(t, sandbox.BillOptions{})
	cut := b[:bytes.Index(b, []byte("总交易单数"))]
	if _, _, err := parse(t, cut); !errors.Is(err, wechatpay.ErrBillFormat) {
		t.Fatalf("truncated: %v", err)
	}
	shifted := bytes.Replace(b, []byte("`W2,"), []byte("`W2,`extra,"), 1)
	if _, _, err := parse(t, shifted); err == nil || !strings.Contains(err.Error(), "values for") {
		t.Fatalf("shifted columns: %v", err)
	}
	if _, _, err := parse(t, nil); !errors.Is(err, wechatpay.ErrBillFormat) {
		t.Fatalf("empty: %v", err)
	}
}

// TestPublicBills parses the public bills by header name. The gunsluo ALL
// bill is complete (its summary checks); the WxJava files are excerpts whose
// summaries describe the full files, so they must fail the totals check
// after their rows parsed.
func TestPublicBills(t *testing.T) {
	dir := filepath.Join(providertest.SamplesDir(t), "wechatpay", "bills")
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	got, tot, err := parse(t, read("tradebill_ALL_gunsluo_2021-01-28.csv"))
	if err != nil || len(got) != 3 || tot.PaymentFen != 3 || got[0].OutTradeNo != "S20210128170702357723" || got[0].AppID != "wx81be3101902f7cb2" {
		t.Fatalf("gunsluo ALL: %v %+v", err, tot)
	}
	zr, err := gzip.NewReader(bytes.NewReader(read("tradebill_ALL_gunsluo_2021-01-28.csv.gz")))
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err := parse(t, mustReadAll(t, zr)); err != nil || len(got) != 3 {
		t.Fatalf("gunsluo ALL gz: %v", err)
	}
	for name, want := range map[string]payrecon.EntryKind{
		"tradebill_ALL_wxjava_anonymized_excerpt.csv":     payrecon.EntryPayment,
		"tradebill_SUCCESS_wxjava_anonymized_excerpt.csv": payrecon.EntryPayment,
		"tradebill_REFUND_wxjava_anonymized_excerpt.csv":  payrecon.EntryRefund,
	} {
		got, _, err := parse(t, read(name))
		if !errors.As(err, new(*payrecon.TotalsMismatchError)) {
			t.Errorf("%s: err = %v, want a totals mismatch (excerpt)", name, err)
		}
		if len(got) == 0 || got[0].Kind != want || got[0].AmountFen <= 0 {
			t.Errorf("%s: rows %+v", name, got)
		}
	}
}

func mustReadAll(t *testing.T, r interface{ Read([]byte) (int, error) }) []byte {
	var b bytes.Buffer
	if _, err := b.ReadFrom(r); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func FuzzParseBill(f *testing.F) {
	f.Add(sandboxBill(f, sandbox.BillOptions{}))
	f.Add([]byte("交易时间,微信订单号,商户订单号,交易状态,总金额\n`2026-01-01 00:00:00,`1,`2,`SUCCESS,`1.00\n总交易单数,总交易额\n`1,`1.00\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		// Whatever the bytes, every row handed on is a well-formed entry.
		wechatpay.ParseBill(bytes.NewReader(b), func(e payrecon.BillEntry) error {
			switch {
			case e.Kind != payrecon.EntryPayment && e.Kind != payrecon.EntryRefund:
				t.Fatalf("unknown kind: %+v", e)
			case e.OutTradeNo == "" && e.ProviderTradeNo == "":
				t.Fatalf("no order number: %+v", e)
			case e.Kind == payrecon.EntryRefund && !strings.HasPrefix(e.Status, "REFUND"):
				t.Fatalf("refund row without REFUND status: %+v", e)
			case e.Line <= 0 || e.At.IsZero():
				t.Fatalf("no line or time: %+v", e)
			}
			return nil
		})
	})
}

// TestParseLegacyBill: the early column set (总金额, 子商户号, 企业红包金额, no
// 订单金额) with its five-field summary, mapped by header name.
func TestParseLegacyBill(t *testing.T) {
	b := "交易时间,公众账号ID,商户号,子商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,总金额,企业红包金额,微信退款单号,商户退款单号,退款金额,企业红包退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率\r\n" +
		"`2015-03-01 10:00:00,`wx01,`10000100,`0,`,`1001,`O1,`u,`JSAPI,`SUCCESS,`CFT,`CNY,`1.50,`0.00,`0,`0,`0.00,`0.00,`,`,`item,`,`0.01000,`0.60%\r\n" +
		"`2015-03-01 11:00:00,`wx01,`10000100,`0,`,`1001,`O1,`u,`JSAPI,`REFUND,`CFT,`CNY,`0.00,`0.00,`2001,`R1,`0.50,`0.00,`ORIGINAL,`SUCCESS,`item,`,`-0.00300,`0.60%\r\n" +
		"总交易单数,总交易额,总退款金额,总代金券或立减优惠退款金额,手续费总金额\r\n" +
		"`2,`1.50,`0.50,`0.00,`0.00700\r\n"
	got, tot, err := parse(t, []byte(b))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].AmountFen != 150 || got[1].Kind != payrecon.EntryRefund || got[1].AmountFen != 50 || got[1].OutRefundNo != "R1" || tot.FeeE5 != 700 {
		t.Fatalf("%+v %+v", got, tot)
	}
	bad := strings.Replace(b, "`2,`1.50", "`2,`1.51", 1)
	if _, _, err := parse(t, []byte(bad)); !errors.As(err, new(*payrecon.TotalsMismatchError)) {
		t.Fatalf("legacy summary mismatch: %v", err)
	}
}

// TestParseBillDecimalCount (issue 9, bug 3): a real bill may write the
// summary's 总交易单数 as an integral decimal ("45.0"); it is accepted and
// checked as 45. A fractional count ("45.5") is malformed.
func TestParseBillDecimalCount(t *testing.T) {
	b := sandboxBill(t, sandbox.BillOptions{})
	_, want, err := parse(t, b)
	if err != nil {
		t.Fatal(err)
	}
	head := bytes.Index(b, []byte("总交易单数"))
	vals := head + bytes.IndexByte(b[head:], '\n') + 1
	end := vals + bytes.IndexByte(b[vals:], ',')
	n := strings.TrimPrefix(string(b[vals:end]), "`")
	with := func(count string) []byte {
		return slices.Concat(b[:vals], []byte("`"+count), b[end:])
	}
	for _, c := range []string{n + ".0", n + ".00", n + ".00000"} {
		if _, got, err := parse(t, with(c)); err != nil || got != want {
			t.Fatalf("count %q: %+v %v, want %+v", c, got, err, want)
		}
	}
	for _, c := range []string{n + ".5", n + ".", n + ".0a", "-" + n, n + "e0"} {
		if _, _, err := parse(t, with(c)); !errors.Is(err, payrecon.ErrMalformed) {
			t.Fatalf("count %q: %v, want malformed", c, err)
		}
	}
	wrong, _ := strconv.Atoi(n)
	if _, _, err := parse(t, with(strconv.Itoa(wrong+1)+".0")); !errors.As(err, new(*payrecon.TotalsMismatchError)) {
		t.Fatalf("count %d.0 for %s rows: %v", wrong+1, n, err)
	}
}

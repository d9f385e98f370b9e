package alipay_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider/alipay"
	"github.com/payrecon/payrecon/provider/sandbox"
)

// TestParseSettlement reads 商家实收 (what the merchant receives: 订单金额
// less 商家优惠), the Alipay-funded 支付宝红包/集分宝/支付宝优惠, and 服务费
// whichever sign the bill writes it with (Alipay does not document it): a
// fee charged on a payment row, returned (negative) on a refund row.
func TestParseSettlement(t *testing.T) {
	at := day.Add(10 * time.Hour)
	rows := []sandbox.BillRow{
		{Kind: payrecon.EntryPayment, OutTradeNo: "O1", ProviderTradeNo: "2026112022001", AmountFen: 10000, DiscountFen: 1000, ProviderDiscountFen: 200, Created: at, At: at},
		{Kind: payrecon.EntryRefund, OutTradeNo: "O1", ProviderTradeNo: "2026112022001", OutRefundNo: "R1", AmountFen: 5000, DiscountFen: 500, Created: at, At: at.Add(time.Hour)},
	}
	for _, flipped := range []bool{false, true} {
		got, tot, err := collect(t, zipOf(t, rows, sandbox.BillOptions{AlipayFeesFlipped: flipped}))
		if err != nil {
			t.Fatalf("flipped=%v: %v", flipped, err)
		}
		pay, ref := got[0], got[1]
		if pay.AmountFen != 10000 || pay.DiscountFen != 1000 || pay.SettleFen() != 9000 || pay.ProviderDiscountFen != 200 || pay.FeeE5 != 54000 ||
			pay.HasFeeRate || pay.Currency != "" {
			t.Errorf("flipped=%v: payment %+v", flipped, pay)
		}
		if ref.AmountFen != 5000 || ref.DiscountFen != 500 || ref.SettleFen() != 4500 || ref.FeeE5 != -27000 {
			t.Errorf("flipped=%v: refund %+v", flipped, ref)
		}
		if tot.PaymentFen != 10000 || tot.RefundFen != 5000 || tot.FeeE5 != 54000-27000 {
			t.Errorf("flipped=%v: totals %+v", flipped, tot)
		}
	}
}

// TestParseBillWithoutDiscountColumns reads a detail file that lacks the
// Alipay-funded discount columns (a file cut down by hand) as having none,
// not as another column's value.
func TestParseBillWithoutDiscountColumns(t *testing.T) {
	at := day.Add(10 * time.Hour)
	rows := []sandbox.BillRow{{Kind: payrecon.EntryPayment, OutTradeNo: "O1", ProviderTradeNo: "2026112022001", AmountFen: 10000, ProviderDiscountFen: 200, Created: at, At: at}}
	var gbk bytes.Buffer
	alipayCSV(t, zipOf(t, rows, sandbox.BillOptions{}), &gbk)
	text, err := simplifiedchinese.GBK.NewDecoder().String(gbk.String())
	if err != nil {
		t.Fatal(err)
	}
	var cut []string
	for _, line := range strings.Split(text, "\r\n") {
		if f := strings.Split(line, ","); len(f) == 25 {
			line = strings.Join(slices.Delete(f, 13, 16), ",") // 支付宝红包, 集分宝, 支付宝优惠
		}
		cut = append(cut, line)
	}
	if !strings.Contains(text, "支付宝红包") || strings.Contains(strings.Join(cut, "\n"), "支付宝红包") {
		t.Fatal("the columns were not cut")
	}
	var got []payrecon.BillEntry
	if _, err := alipay.ParseBillCSV(strings.NewReader(strings.Join(cut, "\r\n")), func(e payrecon.BillEntry) error {
		got = append(got, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ProviderDiscountFen != 0 || got[0].AmountFen != 10000 {
		t.Fatalf("rows %+v", got)
	}
}

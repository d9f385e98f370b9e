package wechatpay_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider/providertest"
	"github.com/payrecon/payrecon/provider/sandbox"
)

// TestParseSettlement reads what the merchant actually receives from each
// row: 订单金额 as the amount, 订单金额 − 应结订单金额 as the merchant's coupon
// (免充值券), the rest of 代金券金额 as the provider's (充值券), on refund rows
// 申请退款金额 − 退款金额 as the coupon given back, the fee (negative on
// refund rows), the row's own 费率 and 货币种类.
func TestParseSettlement(t *testing.T) {
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, payrecon.ShanghaiFixed)
	rows := []sandbox.BillRow{
		{Kind: payrecon.EntryPayment, OutTradeNo: "W1", ProviderTradeNo: "4201", AmountFen: 10000, DiscountFen: 1000, ProviderDiscountFen: 300, At: at},
		{Kind: payrecon.EntryRefund, OutTradeNo: "W1", ProviderTradeNo: "4201", OutRefundNo: "WR1", ProviderRefundNo: "5031", AmountFen: 5000, DiscountFen: 500, At: at.Add(time.Hour)},
		{Kind: payrecon.EntryPayment, OutTradeNo: "W2", ProviderTradeNo: "4202", AmountFen: 700, Currency: "USD", At: at},
	}
	var b bytes.Buffer
	if err := sandbox.WriteWeChatBill(&b, "1900000001", "wx01", slices.Values(rows), sandbox.BillOptions{}); err != nil {
		t.Fatal(err)
	}
	got, _, err := parse(t, b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	pay, ref, usd := got[0], got[1], got[2]
	// 90.00 settles; 0.60% of it is 0.54.
	if pay.AmountFen != 10000 || pay.DiscountFen != 1000 || pay.SettleFen() != 9000 || pay.ProviderDiscountFen != 300 || pay.FeeE5 != 54000 ||
		!pay.HasFeeRate || pay.FeeRatePPM != 6000 || pay.Currency != "CNY" || pay.ForeignCurrency() {
		t.Errorf("payment %+v", pay)
	}
	// 45.00 is paid back; the fee on it, 0.27, is returned (negative).
	if ref.Kind != payrecon.EntryRefund || ref.AmountFen != 5000 || ref.DiscountFen != 500 || ref.SettleFen() != 4500 || ref.FeeE5 != -27000 || ref.FeeRatePPM != 6000 {
		t.Errorf("refund %+v", ref)
	}
	if usd.Currency != "USD" || !usd.ForeignCurrency() {
		t.Errorf("USD row %+v", usd)
	}
}

// TestParseBadRate rejects a row whose 费率 is not a percentage, naming
// the line and the column.
func TestParseBadRate(t *testing.T) {
	b := sandboxBill(t, sandbox.BillOptions{})
	bad := bytes.Replace(b, []byte("`0.60%"), []byte("`0.6"), 1)
	if _, _, err := parse(t, bad); err == nil || !errors.Is(err, payrecon.ErrBadAmount) || !strings.Contains(err.Error(), "line 2: 费率") {
		t.Fatalf("err = %v, want line 2: 费率 … ErrBadAmount", err)
	}
}

// TestPublicBillSettlement checks the real samples' conventions: a
// payment's fee at its own 费率 on 应结订单金额 (6.00 at 0.60% is 0.04000),
// and fees returned on refund rows stated negative (the REFUND bill's
// 手续费总金额 is negative).
func TestPublicBillSettlement(t *testing.T) {
	dir := filepath.Join(providertest.SamplesDir(t), "wechatpay", "bills")
	all, err := os.ReadFile(filepath.Join(dir, "tradebill_ALL_wxjava_anonymized_excerpt.csv"))
	if err != nil {
		t.Fatal(err)
	}
	got, _, _ := parse(t, all) // an excerpt: its summary does not match its rows
	if len(got) == 0 {
		t.Fatal("no rows")
	}
	p := got[0]
	if p.AmountFen != 600 || p.SettleFen() != 600 || p.FeeE5 != 4000 || p.FeeRatePPM != 6000 || p.Currency != "CNY" ||
		payrecon.FeeAtRate(p.SettleFen(), p.FeeRatePPM) != p.FeeE5 {
		t.Errorf("wxjava ALL row %+v", p)
	}
	ref, err := os.ReadFile(filepath.Join(dir, "tradebill_REFUND_wxjava_anonymized_excerpt.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(ref, []byte("`-0.02000")) {
		t.Error("the REFUND sample no longer states a negative fee total")
	}
}

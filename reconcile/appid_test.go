package reconcile_test

import (
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/reconcile"
)

// TestAppIDCarried: each bill row's app reaches its discrepancy row, for
// payments and refunds, matched or not.
func TestAppIDCarried(t *testing.T) {
	day := payrecon.NewDay(2026, 11, 20)
	at := day.Start().Add(10 * time.Hour)
	bill := []payrecon.BillEntry{
		{Kind: payrecon.EntryPayment, OutTradeNo: "W1", ProviderTradeNo: "42001", AmountFen: 100, At: at, Status: "SUCCESS", AppID: "wxA"},
		{Kind: payrecon.EntryPayment, OutTradeNo: "W2", ProviderTradeNo: "42002", AmountFen: 200, At: at, Status: "SUCCESS", AppID: "wxB"},
		{Kind: payrecon.EntryRefund, OutTradeNo: "W1", ProviderTradeNo: "42001", OutRefundNo: "W1-R1", ProviderRefundNo: "503", AmountFen: 50, At: at.Add(time.Hour), Status: "REFUND/SUCCESS", AppID: "wxA"},
	}
	trades := []reconcile.LedgerTrade{{OutTradeNo: "W1", ProviderTradeNo: "42001", Status: payrecon.StatusPaid, AmountFen: 100, PaidAt: at}}
	res := reconcile.Run(day, reconcile.Options{}, bill, nil, trades, nil)
	want := map[string]string{"W1": "wxA", "W2": "wxB", "W1-R1": "wxA"}
	seen := 0
	for _, it := range res.Items {
		key := it.OutTradeNo
		if it.Kind == payrecon.EntryRefund {
			key = it.OutRefundNo
		}
		if w, ok := want[key]; ok && it.HasBill {
			seen++
			if it.AppID != w {
				t.Errorf("%s (%s): appid %q, want %q", key, it.Code, it.AppID, w)
			}
		}
	}
	if seen != len(want) {
		t.Fatalf("%d bill rows in the result, want %d: %+v", seen, len(want), res.Items)
	}
}

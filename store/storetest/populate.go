package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/store"
)

// Populate writes n paid trades and a little of everything else a ledger
// holds (refunds, a transfer, a repair and its audit, runs, discrepancies,
// bills, jobs, deliveries, expected orders, events for an app endpoint,
// a quarantined rejection), through the ledger's own methods, so copies
// and migrations can be checked on real rows.
func Populate(tb testing.TB, db *store.DB, n int) {
	tb.Helper()
	ctx := tb.Context()
	must := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	must(db.SyncEndpoints(ctx, []payrecon.Endpoint{{Name: "app"}}))
	for i := range n {
		Record(tb, db, Pay(fmt.Sprint("k", i), fmt.Sprint("o", i), payrecon.Fen(100+i)))
	}
	Record(tb, db, AlipayRefund("r1", "o1", "R1", 30, false, T0.Add(time.Hour)))
	Record(tb, db, AlipayRefund("r2", "o1", "R2", 101, true, T0.Add(2*time.Hour)))
	tr := Pay("t1", "", 0)
	tr.Event = payrecon.Event{Kind: payrecon.EventTransfer, Transfer: &payrecon.Transfer{OutBizNo: "B1", OrderID: "X1", AmountFen: 777, Status: "SUCCESS", PaidAt: T0}}
	Record(tb, db, tr)
	must(db.Quarantine(ctx, payrecon.Rejected{ReceivedAt: T0, Account: "ali", Provider: "alipay", Reason: "bad_signature",
		Detail: "forged", Method: "POST", RemoteAddr: "127.0.0.1:1", Body: []byte("sign=forged\x00\xff"), BodySize: 14}))
	run := Must(db.StartRun(ctx, "ali", Day, "cli"))
	bill := Must(db.RecordBill(ctx, payrecon.Bill{Account: "ali", Day: Day, Format: payrecon.BillAlipayZip, Path: "/b.zip", SHA256: "ab", Size: 10, Origin: "download"}))
	ev := &payrecon.Event{Kind: payrecon.EventPayment, Status: payrecon.StatusPaid, OutTradeNo: "Q1", ProviderTradeNo: "P1", AmountFen: 5000, HasAmount: true, PaidAt: T0}
	Must(db.ApplyQuery(ctx, payrecon.Repair{Account: "ali", Provider: payrecon.Alipay, Day: Day, RunID: run, Reason: "MISSING_LOCAL recovered", Evidence: "query"}, ev))
	must(db.SaveReconciliation(ctx, run, "ali", Day, []payrecon.Discrepancy{
		{Code: payrecon.MissingLocal, Kind: payrecon.EntryPayment, OutTradeNo: "Q1", BillFen: 5000, HasBill: true, Resolution: payrecon.Outcome("RECOVERED")},
		{Code: payrecon.Matched, Kind: payrecon.EntryPayment, OutTradeNo: "o0", BillFen: 100, HasBill: true, LedgerFen: 100, HasLedger: true},
	}, []payrecon.ReconMark{{Kind: payrecon.EntryPayment, OutTradeNo: "o0", State: payrecon.StateMatched}}))
	must(db.FinishRun(ctx, run, bill, map[payrecon.Code]int{payrecon.Matched: 1, payrecon.MissingLocal: 1}, "/w.xlsx", nil))
	job := Must(db.StartJob(ctx, "reconcile", "ali", Day, "cron"))
	must(db.FinishJob(ctx, job, errors.New("bill not ready")))
	must(db.RecordDelivery(ctx, "ops", "alert:1", 2, nil))
	Must(db.RegisterOrders(ctx, payrecon.ExpectedOrder{Account: "ali", OutTradeNo: "E1", AmountFen: 999, CreatedAt: T0,
		Status: payrecon.OrderWaiting, NextCheckAt: T0.Add(time.Minute)}))
}

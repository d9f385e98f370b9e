package store_test

import (
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

func TestApplyQueryAuditsOnce(t *testing.T) {
	db := storetest.MustOpen(t, store.Options{})
	ev := &payrecon.Event{Kind: payrecon.EventPayment, Status: payrecon.StatusPaid, OutTradeNo: "Q1", ProviderTradeNo: "P1",
		AmountFen: 500, HasAmount: true, PaidAt: t0}
	r := payrecon.Repair{Account: "ali", Provider: payrecon.Alipay, Day: payrecon.NewDay(2026, 11, 20), RunID: 7, Reason: "MISSING_LOCAL recovered", Evidence: "alipay.trade.query TRADE_SUCCESS"}
	changed, err := db.ApplyQuery(t.Context(), r, ev)
	if err != nil || !changed {
		t.Fatalf("first apply: %v %v", changed, err)
	}
	tr := trade(t, db, "Q1")
	if tr.Source != payrecon.SourceQuery || tr.Status != payrecon.StatusPaid || tr.AmountFen != 500 {
		t.Fatalf("trade %+v", tr)
	}
	a, err := db.Audit(t.Context(), "ali")
	if err != nil {
		t.Fatal(err)
	}
	if len(a) == 0 || a[0].Object != "trade:Q1" || a[0].OldValue != "(absent)" || a[0].Reason != r.Reason || a[0].Evidence != r.Evidence {
		t.Fatalf("audit %+v", a)
	}
	n := len(a)
	// Same evidence again: no change, no audit row.
	if changed, err := db.ApplyQuery(t.Context(), r, ev); err != nil || changed {
		t.Fatalf("second apply: %v %v", changed, err)
	}
	if a, _ := db.Audit(t.Context(), "ali"); len(a) != n {
		t.Fatalf("audit grew to %d rows on a no-op repair", len(a))
	}
	events := func() []store.LedgerEvent {
		t.Helper()
		ev, err := db.LedgerEvents(t.Context(), "ali", "Q1")
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	if ev := events(); len(ev) != 1 || ev[0].Source != "query" || ev[0].SourceRef != "query:run:7" || ev[0].StatusAfter != "PAID" {
		t.Fatalf("provenance after a repair and a no-op repair: %+v", ev)
	}
	// A later notification of the same trade changes nothing but is
	// provenance all the same; the first source stays.
	record(t, db, pay("k", "Q1", 500))
	if tr := trade(t, db, "Q1"); tr.Source != payrecon.SourceQuery {
		t.Fatalf("source changed to %s", tr.Source)
	}
	if ev := events(); len(ev) != 2 || ev[1].Source != "notify" || ev[1].StatusBefore != "PAID" || ev[1].StatusAfter != "PAID" {
		t.Fatalf("provenance after the late notification: %+v", ev)
	}
}

func TestReplaceDiscrepancies(t *testing.T) {
	db := storetest.MustOpen(t, store.Options{})
	for range 2 {
		id, err := db.StartRun(t.Context(), "ali", payrecon.NewDay(2026, 11, 20), "cli")
		if err != nil {
			t.Fatal(err)
		}
		if err := db.ReplaceDiscrepancies(t.Context(), id, "ali", payrecon.NewDay(2026, 11, 20), []payrecon.Discrepancy{{Code: payrecon.MissingLocal, Kind: payrecon.EntryPayment, OutTradeNo: "X"}}); err != nil {
			t.Fatal(err)
		}
		if err := db.FinishRun(t.Context(), id, 0, map[payrecon.Code]int{payrecon.MissingLocal: 1}, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := db.Discrepancies(t.Context(), "ali", payrecon.NewDay(2026, 11, 20))
	if err != nil || len(ds) != 1 {
		t.Fatalf("re-run left %d rows, %v", len(ds), err)
	}
	runs, _ := db.Runs(t.Context(), 10)
	if len(runs) != 2 || runs[0].Status != "ok" {
		t.Fatalf("runs %+v", runs)
	}
}

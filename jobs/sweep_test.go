package jobs_test

import (
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

func TestSweeper(t *testing.T) {
	e := setup(t, sandbox.ServerFaults{})
	now := time.Now()
	s := &jobs.Sweeper{DB: e.db, Accounts: e.daily.Accounts, Tiers: jobs.DefaultTiers(), Interval: time.Second, Now: func() time.Time { return now }, Log: e.daily.Log}
	// The schedule: 1m for 10m, 10m to 1h, 1h to 24h, then give up.
	for _, tc := range []struct {
		age, every time.Duration
		ok         bool
	}{{time.Minute, time.Minute, true}, {30 * time.Minute, 10 * time.Minute, true}, {5 * time.Hour, time.Hour, true}, {25 * time.Hour, 0, false}} {
		next, ok := s.NextCheck(now.Add(-tc.age), now)
		if ok != tc.ok || (ok && next.Sub(now) != tc.every) {
			t.Errorf("age %s: next in %s ok=%v", tc.age, next.Sub(now), ok)
		}
	}
	acct := e.sb.ID.Alipay.Account
	var dropped, notified *sandbox.Trade
	for _, tr := range e.day.Trades {
		if tr.Provider != "alipay" {
			continue
		}
		if tr.DropNotify && dropped == nil {
			dropped = tr
		}
		if !tr.DropNotify && !tr.TamperNotify && !tr.DelayNotify && tr.NotifyAmount == 0 && notified == nil {
			notified = tr
		}
	}
	register(t, e.db, acct, dropped.OutTradeNo, dropped.AmountFen, now.Add(-time.Minute), now)
	register(t, e.db, acct, notified.OutTradeNo, notified.AmountFen, now.Add(-time.Minute), now)
	register(t, e.db, acct, "NEVER-PAID", 100, now.Add(-25*time.Hour), now)
	register(t, e.db, acct, "NOT-YET", 100, now.Add(-time.Minute), now)
	if err := s.Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	orders, err := e.db.Orders(t.Context(), acct, now.Add(-48*time.Hour), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]payrecon.OrderStatus{}
	for _, o := range orders {
		got[o.OutTradeNo] = o.Status
	}
	want := map[string]payrecon.OrderStatus{dropped.OutTradeNo: "recovered", notified.OutTradeNo: "paid", "NEVER-PAID": "expired", "NOT-YET": "waiting"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s, want %s", k, got[k], v)
		}
	}
	// A waiting order is not checked again before its next time.
	if due := storetest.Must(e.db.DueOrders(t.Context(), now, 10)); len(due) != 0 {
		t.Fatalf("due right after a sweep: %+v", due)
	}
	if due := storetest.Must(e.db.DueOrders(t.Context(), now.Add(61*time.Second), 10)); len(due) != 1 || due[0].OutTradeNo != "NOT-YET" {
		t.Fatalf("due after a minute: %+v", due)
	}

	// Orders registered for the sandbox day (created on it) appear on
	// that day's workbook; the unpaid one is listed.
	register(t, e.db, acct, "DAY-UNPAID", 4200, day.Add(9*time.Hour), day.Add(9*time.Hour))
	rep, err := e.daily.Run(t.Context(), acct, payrecon.DayOf(day), jobs.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenFile(rep.Workbook)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, _ := f.GetRows("汇总")
	found := false
	for _, r := range rows {
		if len(r) >= 4 && r[0] == "DAY-UNPAID" && r[3] == "waiting" {
			found = true
		}
	}
	if !found {
		t.Fatalf("汇总 does not list the unpaid registered order: %q", rows)
	}
}

// register registers an expected order whose first check is due at first.
func register(t *testing.T, db *store.DB, account, outTradeNo string, amount payrecon.Fen, created, first time.Time) {
	t.Helper()
	if _, err := db.RegisterOrders(t.Context(), payrecon.ExpectedOrder{Account: account, OutTradeNo: outTradeNo, AmountFen: amount, CreatedAt: created, NextCheckAt: first}); err != nil {
		t.Fatal(err)
	}
}

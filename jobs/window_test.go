package jobs_test

import (
	"errors"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// TestDayWindowIgnoresDisplayZone reconciles two bill days with the
// display zone set to UTC (config `timezone: UTC`). A payment at 23:30
// Beijing time belongs to the first day's bill and one at 00:30 to the
// next day's, although both fall on the same UTC date: each day must match
// its own bill exactly, nothing missing, nothing carried over.
func TestDayWindowIgnoresDisplayZone(t *testing.T) {
	d1 := payrecon.NewDay(2026, 11, 20)
	late := d1.Start().Add(23*time.Hour + 30*time.Minute) // 2026-11-20 23:30 CST = 15:30 UTC
	early := d1.End().Add(30 * time.Minute)               // 2026-11-21 00:30 CST = 16:30 UTC, same UTC date
	var lateNo, earlyNo string
	e := setupDays(t, sandbox.ServerFaults{}, time.UTC, func(sb *sandbox.Sandbox) []*sandbox.Day {
		first := sb.GenerateDay(d1.Start(), sandbox.DayOptions{Trades: 20, Seed: 1})
		second := sb.GenerateDay(d1.AddDays(1).Start(), sandbox.DayOptions{Trades: 20, Seed: 2})
		lateNo = moveTrade(first, late)
		earlyNo = moveTrade(second, early)
		return []*sandbox.Day{first, second}
	})
	if payrecon.DayOf(late) != d1 || payrecon.DayOf(early) != d1.AddDays(1) || late.UTC().YearDay() != early.UTC().YearDay() {
		t.Fatal("fixture: the two payments must straddle Beijing midnight on one UTC date")
	}
	acct := e.sb.ID.Alipay.Account
	for _, tc := range []struct {
		day payrecon.Day
		no  string
	}{{d1, lateNo}, {d1.AddDays(1), earlyNo}} {
		rep, err := e.daily.Run(t.Context(), acct, tc.day, jobs.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Discrepancies) != 0 || rep.Counts[payrecon.Matched] == 0 || len(rep.Counts) != 1 {
			t.Fatalf("%s with timezone UTC: counts %v, discrepancies %+v", tc.day, rep.Counts, rep.Discrepancies)
		}
		if rep.Counts[payrecon.Matched] != rep.Bill.Payments+rep.Bill.Refunds {
			t.Fatalf("%s: %d matched, the bill has %d payments and %d refunds", tc.day, rep.Counts[payrecon.Matched], rep.Bill.Payments, rep.Bill.Refunds)
		}
		trades, err := e.db.Trades(t.Context(), storeFilter(acct, tc.day))
		if err != nil {
			t.Fatal(err)
		}
		if !hasTrade(trades, tc.no) {
			t.Fatalf("%s: the ledger's day does not hold %s", tc.day, tc.no)
		}
	}
}

// moveTrade makes the day's first Alipay trade a plain payment at paid
// and returns its order number.
func moveTrade(d *sandbox.Day, paid time.Time) string {
	for _, t := range d.Trades {
		if t.Provider == payrecon.Alipay && !t.PaidAt.IsZero() {
			t.Created, t.PaidAt, t.Refunds = paid.Add(-time.Minute), paid, nil
			return t.OutTradeNo
		}
	}
	panic("sandbox day without an Alipay payment")
}

func hasTrade(ts []payrecon.Trade, no string) bool {
	for _, t := range ts {
		if t.OutTradeNo == no {
			return true
		}
	}
	return false
}

func storeFilter(account string, d payrecon.Day) store.TradeFilter {
	return store.TradeFilter{Account: account, PaidFrom: d.Start(), PaidTo: d.End()}
}

// TestDayNotOverRefused: today and future days are refused at once, with
// nothing recorded (no run, no archived bill).
func TestDayNotOverRefused(t *testing.T) {
	e := setup(t, sandbox.ServerFaults{})
	acct := e.sb.ID.WeChat.Account
	today := payrecon.DayOf(time.Now())
	for _, d := range []payrecon.Day{today, today.AddDays(1), payrecon.NewDay(2027, 1, 1)} {
		_, err := e.daily.Run(t.Context(), acct, d, jobs.RunOptions{})
		if !errors.Is(err, jobs.ErrDayNotOver) {
			t.Fatalf("%s: err = %v, want ErrDayNotOver", d, err)
		}
	}
	if runs := storetest.Must(e.db.Runs(t.Context(), 10)); len(runs) != 0 {
		t.Fatalf("refused days recorded runs: %+v", runs)
	}
}

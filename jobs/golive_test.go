package jobs_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/reports/deliver"
	"github.com/payrecon/payrecon/reports/deliver/loopback"
	"github.com/payrecon/payrecon/reports/deliver/wecom"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// TestRunLeaseGuardsEveryCaller: Daily.Run takes the day's lease itself,
// so any caller (the CLI, serve's schedule, the console) is refused while
// another run holds the day, and no run is recorded; once released the
// day runs.
func TestRunLeaseGuardsEveryCaller(t *testing.T) {
	e := setup(t, sandbox.ServerFaults{})
	acct, d := e.sb.ID.Alipay.Account, payrecon.DayOf(day)
	other := storetest.Must(e.db.AcquireLease(t.Context(), payrecon.Lease{Account: acct, Day: d, Holder: "4242@elsewhere/1", PID: 4242,
		Host: "elsewhere", Since: day.Add(30 * time.Hour)}, time.Minute))
	_, err := e.daily.Run(t.Context(), acct, d, jobs.RunOptions{Trigger: "console"})
	held, ok := errors.AsType[*payrecon.LeaseHeldError](err)
	if !errors.Is(err, payrecon.ErrRunLeased) || !ok || held.Lease.PID != 4242 {
		t.Fatalf("run of a leased day: %v", err)
	}
	const want = "reconcile sandbox-ali 2026-11-20: account sandbox-ali day 2026-11-20 is being reconciled by pid 4242 on elsewhere since 2026-11-21 06:00:00 CST"
	if err.Error() != want {
		t.Fatalf("error %q\nwant  %q", err, want)
	}
	if runs := storetest.Must(e.db.Runs(t.Context(), 10)); len(runs) != 0 {
		t.Fatalf("a refused run was recorded: %+v", runs)
	}
	if err := e.db.ReleaseLease(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	if _, err := e.daily.Run(t.Context(), acct, d, jobs.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	// The run released its lease: another holder may take the day.
	l := storetest.Must(e.db.AcquireLease(t.Context(), payrecon.Lease{Account: acct, Day: d, Holder: "1@h/1", PID: os.Getpid(), Host: "h", Since: time.Now()}, time.Minute))
	if err := e.db.ReleaseLease(t.Context(), l); err != nil {
		t.Fatal(err)
	}
}

// TestBackfillBeforeGoLive: with reconcile.start_date after the day, the
// day is refused unless backfilled, and backfilled every trade the ledger
// lacks is BEFORE_START (source=bill), none a dropped callback.
func TestBackfillBeforeGoLive(t *testing.T) {
	e := setup(t, sandbox.ServerFaults{})
	acct, d := e.sb.ID.WeChat.Account, payrecon.DayOf(day)
	e.daily.Opt.StartDate = d.AddDays(1)
	if _, err := e.daily.Run(t.Context(), acct, d, jobs.RunOptions{}); !errors.Is(err, jobs.ErrBeforeGoLive) {
		t.Fatalf("a day before go-live: %v", err)
	}
	robot := loopback.StartRobot()
	defer robot.Close()
	e.daily.Deliver = &deliver.Dispatcher{Log: e.db, Backoff: time.Millisecond, Channels: map[string]deliver.Notifier{
		"ops": &wecom.Notifier{URL: robot.URL, HTTP: robot.Client()},
	}}
	e.daily.Alerts = jobs.Alerting{Channels: []string{"ops"}, RecoveredMin: 1}
	rep, err := e.daily.Run(t.Context(), acct, d, jobs.RunOptions{Backfill: true})
	if err != nil {
		t.Fatal(err)
	}
	// The digest says the trades were backfilled from before go-live,
	// not recovered dropped callbacks, and raises no recovered alarm.
	var digest string
	for _, a := range robot.Received() {
		md, _ := a["markdown"].(map[string]any)
		if c, _ := md["content"].(string); strings.Contains(c, "对账日报") {
			digest = c
		}
	}
	if !strings.Contains(digest, "上线前交易按账单补录") || strings.Contains(digest, "丢失的支付回调") {
		t.Errorf("digest does not tell backfilled trades from dropped callbacks:\n%s", digest)
	}
	if rep.Counts[payrecon.MissingLocal] != 0 || rep.Counts[payrecon.BeforeStart] == 0 {
		t.Fatalf("backfill counts %v: want BEFORE_START and no MISSING_LOCAL", rep.Counts)
	}
	byNo := map[string]payrecon.Trade{}
	for _, tr := range storetest.Must(e.db.Trades(t.Context(), store.TradeFilter{Account: acct})) {
		byNo[tr.OutTradeNo] = tr
	}
	backfilled := 0
	for _, it := range rep.Discrepancies {
		if it.Code != payrecon.BeforeStart || it.Kind != payrecon.EntryPayment || it.Resolution != payrecon.OutcomeRecovered {
			continue
		}
		backfilled++
		if tr := byNo[it.OutTradeNo]; tr.Source != payrecon.SourceBill || tr.ReconState != payrecon.StateRecovered {
			t.Errorf("%s: source %s, %s: want bill, RECOVERED", it.OutTradeNo, tr.Source, tr.ReconState)
		}
	}
	if backfilled == 0 {
		t.Fatalf("no payment backfilled: %+v", rep.Discrepancies)
	}
	if rep.Health.Query != 0 {
		t.Fatalf("health %v counts backfilled trades as recovered callbacks", rep.Health)
	}
}

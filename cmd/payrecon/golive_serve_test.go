package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/provider/sandbox/sandboxtest"
	"github.com/payrecon/payrecon/store"
)

// alertSink is a loopback Slack-style robot that keeps what it is sent.
type alertSink struct {
	mu     sync.Mutex
	bodies []string
}

func (a *alertSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	a.bodies = append(a.bodies, string(b))
	a.mu.Unlock()
	io.WriteString(w, "ok")
}

func (a *alertSink) got() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.bodies...)
}

// goLiveDays generates the three days before today; trades paid before
// goLive send no callback (payrecon was not there to receive them). It
// returns the days and, per provider, the go-live day's trades paid before
// goLive.
func goLiveDays(sb *sandbox.Sandbox, today payrecon.Day, goLive time.Time) ([]*sandbox.Day, map[payrecon.Provider]map[string]bool) {
	var days []*sandbox.Day
	early := map[payrecon.Provider]map[string]bool{payrecon.Alipay: {}, payrecon.WeChatPay: {}}
	for i := 3; i >= 1; i-- {
		d := sb.GenerateDay(today.AddDays(-i).Start(), sandbox.DayOptions{Trades: 8, Seed: int64(i)})
		for _, tr := range d.Trades {
			tr.Refunds = nil // payments only: the day's story is who notified what
			if tr.PaidAt.IsZero() || !tr.PaidAt.Before(goLive) {
				continue
			}
			tr.DropNotify = true
			if i == 1 {
				early[tr.Provider][tr.OutTradeNo] = true
			}
		}
		days = append(days, d)
	}
	return days, early
}

// TestGoLiveFirstDay (issue 10): payrecon went live yesterday at noon on a
// fresh ledger; the providers also have trades of the days before. serve's
// catch-up reconciles yesterday only; its trades paid before noon (never
// notified: payrecon was not live) are BEFORE_START, backfilled from the
// bill (source=bill), in runs, trades -json and the workbook, and no alert
// says callbacks were dropped or health is low. A day before go-live is
// refused without -backfill and, with it, is all BEFORE_START.
func TestGoLiveFirstDay(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	fx := sandboxtest.New(t)
	dir, cfgPath, sb := fx.Dir, fx.Config, fx.Sandbox
	// Yesterday's job is due at 00:01 Beijing time (the schedule below):
	// just after midnight, wait for it (at most 65 s).
	if wait := time.Until(payrecon.DayOf(time.Now()).Start().Add(65 * time.Second)); wait > 0 {
		time.Sleep(wait)
	}
	today := payrecon.DayOf(time.Now())
	live := today.AddDays(-1)
	goLive := live.Start().Add(12 * time.Hour)
	days, early := goLiveDays(sb, today, goLive)
	serveProviders(t, sb, cfgPath, sandbox.ServerFaults{}, days...)

	// serve first started on this ledger yesterday at noon.
	db, err := store.Open(t.Context(), filepath.Join(dir, "var", "payrecon.db"), store.Options{}, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	for _, acct := range []string{"sandbox-ali", "sandbox-wx"} {
		if _, err := db.MarkGoLive(t.Context(), acct, goLive); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	editConfig(t, cfgPath, "  start_date: 2020-01-01", "")
	// The callbacks it received since.
	addr, _, stop := startServe(t, cfgPath)
	if res, err := sb.DeliverDays(t.Context(), &http.Client{Timeout: 10 * time.Second}, "http://"+addr, io.Discard, days...); err != nil {
		t.Fatalf("%v: %v", err, res.Unexpected)
	}
	stop()

	// Today serve starts with a week of catch-up and alerts to a robot.
	sink := &alertSink{}
	robot := httptest.NewServer(sink)
	t.Cleanup(robot.Close)
	editConfig(t, cfgPath, "catch_up_days: 0", "catch_up_days: 7")
	editConfig(t, cfgPath, `schedule: "CRON_TZ=Asia/Shanghai 30 10 * * *"`, `schedule: "CRON_TZ=Asia/Shanghai 1 0 * * *"`)
	appendConfig(t, cfgPath, "delivery:\n  channels:\n    - {name: ops, type: slack, url: \""+robot.URL+"/hook\"}\n  alerts:\n    channels: [ops]\n")
	child, _, exited := startChild(t, bin, cfgPath)
	runs := waitRuns(t, bin, cfgPath, 2)
	child.Process.Signal(os.Interrupt)
	<-exited

	for _, r := range runs {
		p := map[string]payrecon.Provider{"sandbox-ali": payrecon.Alipay, "sandbox-wx": payrecon.WeChatPay}[r.Account]
		if r.Day != live || r.Status != payrecon.RunOK || r.Trigger != "catch-up" {
			t.Errorf("run %+v: want only the go-live day %s reconciled, ok, by the catch-up", r, live)
		}
		if n := len(early[p]); n == 0 || r.Counts[payrecon.BeforeStart] != n || r.Counts[payrecon.MissingLocal] != 0 {
			t.Errorf("%s counts %v: want BEFORE_START=%d and no MISSING_LOCAL", r.Account, r.Counts, n)
		}
		checkBeforeStartTrades(t, bin, cfgPath, r.Account, live, early[p])
		checkBeforeStartWorkbook(t, filepath.Join(dir, "var", "reports", r.Account, live.String()+".xlsx"), len(early[p]))
	}

	// A day before go-live asks for -backfill, and with it is all BEFORE_START.
	before := live.AddDays(-1).String()
	out, err := runBinErr(bin, "reconcile", "-config", cfgPath, "-account", "sandbox-wx", "-date", before)
	if err == nil || !strings.Contains(out, "the day is before the account went live") || !strings.Contains(out, "-backfill") {
		t.Fatalf("reconcile before go-live: %v\n%s", err, out)
	}
	if n := len(jsonLines[payrecon.Run](t, runBin(t, bin, "runs", "-config", cfgPath, "-json"))); n != 2 {
		t.Fatalf("a refused day recorded a run: %d runs", n)
	}
	out = runBin(t, bin, "reconcile", "-config", cfgPath, "-account", "sandbox-wx", "-date", before, "-backfill")
	if !strings.Contains(out, "BEFORE_START=") || strings.Contains(out, "MISSING_LOCAL") {
		t.Fatalf("backfill:\n%s", out)
	}
	// The only messages are the daily digests, one per day run, each
	// saying nothing needs action and raising no dropped-callback or
	// health alarm: the backfilled trades are no one's failure.
	got := sink.got()
	if len(got) != 3 {
		t.Errorf("%d messages, want the 3 digests of the days run:\n%s", len(got), strings.Join(got, "\n"))
	}
	for _, m := range got {
		if !strings.Contains(m, "对账日报") || !strings.Contains(m, "无需处理") || !strings.Contains(m, "上线前交易按账单补录") ||
			strings.Contains(m, "丢失的支付回调") || strings.Contains(m, "回调健康度 0") || strings.Contains(m, "⚠") {
			t.Errorf("a false alarm on the first day:\n%s", m)
		}
	}
}

// waitRuns waits (bounded) until n runs have finished and gives them, or
// fails on a running run still there at the deadline.
func waitRuns(t *testing.T, bin, cfgPath string, n int) []payrecon.Run {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		runs := jsonLines[payrecon.Run](t, runBin(t, bin, "runs", "-config", cfgPath, "-json"))
		finished := 0
		for _, r := range runs {
			if r.Status != payrecon.RunRunning {
				finished++
			}
		}
		if finished >= n || time.Now().After(deadline) {
			if finished < n {
				t.Fatalf("%d runs finished, want %d: %+v", finished, n, runs)
			}
			time.Sleep(500 * time.Millisecond) // a catch-up going on to another day would have started it by now
			return jsonLines[payrecon.Run](t, runBin(t, bin, "runs", "-config", cfgPath, "-json"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkBeforeStartTrades: trades -json shows the early trades backfilled
// from the bill (source=bill, RECOVERED) and the others as notified.
func checkBeforeStartTrades(t *testing.T, bin, cfgPath, account string, day payrecon.Day, early map[string]bool) {
	t.Helper()
	type trade struct {
		OutTradeNo string `json:"out_trade_no"`
		Status     string `json:"status"`
		Source     string `json:"source"`
		ReconState string `json:"recon_state"`
	}
	trades := jsonLines[trade](t, runBin(t, bin, "trades", "-config", cfgPath, "-account", account, "-date", day.String(), "-json"))
	seen := 0
	for _, tr := range trades {
		switch {
		case tr.Status != "PAID":
		case early[tr.OutTradeNo]:
			seen++
			if tr.Source != "bill" || tr.ReconState != "RECOVERED" {
				t.Errorf("%s %s: source %s, %s: want bill, RECOVERED", account, tr.OutTradeNo, tr.Source, tr.ReconState)
			}
		case tr.Source != "notify" || tr.ReconState != "MATCHED":
			t.Errorf("%s %s: source %s, %s: want notify, MATCHED", account, tr.OutTradeNo, tr.Source, tr.ReconState)
		}
	}
	if seen != len(early) {
		t.Errorf("%s: %d of %d early trades in the ledger", account, seen, len(early))
	}
}

// checkBeforeStartWorkbook: the 差异 sheet lists each early trade as
// BEFORE_START, labelled, and nothing as a dropped callback; 汇总 counts
// them.
func checkBeforeStartWorkbook(t *testing.T, path string, n int) {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows("差异")
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for _, r := range rows[1:] {
		if len(r) > 1 && r[0] == "BEFORE_START" && r[1] == "上线前交易（按账单补录）" {
			got++
		} else if len(r) > 0 && r[0] == "MISSING_LOCAL" {
			t.Errorf("%s: a dropped callback on the go-live day: %v", path, r)
		}
	}
	if got != n {
		t.Errorf("%s: %d BEFORE_START rows in 差异, want %d", path, got, n)
	}
	sum, err := f.GetRows("汇总")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range sum {
		if len(r) > 2 && r[0] == "BEFORE_START" && r[2] != fmtCount(n) {
			t.Errorf("汇总 counts %s BEFORE_START, want %d", r[2], n)
		}
	}
}

func fmtCount(n int) string { return strconv.Itoa(n) }

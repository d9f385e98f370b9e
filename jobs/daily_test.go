package jobs_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/notify"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/provider/sandbox/sandboxtest"
	"github.com/payrecon/payrecon/reports"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

var day = time.Date(2026, 11, 20, 0, 0, 0, 0, payrecon.ShanghaiFixed)

type env struct {
	intake *httptest.Server
	sb     *sandbox.Sandbox
	day    *sandbox.Day
	sv     *sandbox.Server
	db     *store.DB
	daily  *jobs.Daily
	dir    string
}

// setup plays a sandbox business day with faults through the real intake
// and returns a daily job wired to the emulated providers.
func setup(t *testing.T, faults sandbox.ServerFaults) *env {
	t.Helper()
	return setupDays(t, faults, payrecon.ShanghaiFixed, func(sb *sandbox.Sandbox) []*sandbox.Day {
		return []*sandbox.Day{sb.GenerateDay(day, sandbox.DayOptions{Trades: 20, Seed: 42, Faults: true})}
	})
}

// setupDays plays the days gen builds through the real intake and returns
// a daily job (display zone loc) wired to the emulated providers; e.day is
// the first day.
func setupDays(t *testing.T, faults sandbox.ServerFaults, loc *time.Location, gen func(*sandbox.Sandbox) []*sandbox.Day) *env {
	t.Helper()
	f := sandboxtest.New(t)
	sb := f.Sandbox
	e := &env{sb: sb, dir: t.TempDir(), db: storetest.MustOpen(t, store.Options{})}
	days := gen(sb)
	e.day = days[0]
	f.Serve(t, faults, days...)
	e.sv = f.Server

	av, wv := sb.Verifiers(time.Now)
	mux := http.NewServeMux()
	mux.Handle("/notify/{account}", notify.Handler([]notify.Account{
		{Name: sb.ID.Alipay.Account, Provider: payrecon.Alipay, Verifier: notify.AlipayVerifier{V: av}},
		{Name: sb.ID.WeChat.Account, Provider: payrecon.WeChatPay, Verifier: wv},
	}, e.db, notify.Options{}, storetest.Logger(t)))
	e.intake = httptest.NewServer(mux)
	t.Cleanup(e.intake.Close)
	sandboxtest.Play(t, sb, e.intake.Client(), e.intake.URL, days...)

	ac, wc := f.Clients(t)
	e.daily = &jobs.Daily{DB: e.db, Now: time.Now, Log: storetest.Logger(t),
		Accounts: map[string]jobs.Account{
			sb.ID.Alipay.Account: {Name: sb.ID.Alipay.Account, Provider: payrecon.Alipay, Client: ac},
			sb.ID.WeChat.Account: {Name: sb.ID.WeChat.Account, Provider: payrecon.WeChatPay, Client: wc},
		},
		Opt: jobs.Options{ArchiveDir: filepath.Join(e.dir, "bills"), ReportsDir: filepath.Join(e.dir, "reports"), Loc: loc,
			BillRetry: 10 * time.Millisecond, BillDeadline: 2 * time.Second, QueryBackoff: time.Millisecond}}
	return e
}

func TestDailyRun(t *testing.T) {
	e := setup(t, sandbox.ServerFaults{BillNotReady: 2, Errors5xx: 1})
	for _, acct := range []string{e.sb.ID.Alipay.Account, e.sb.ID.WeChat.Account} {
		t.Run(acct, func(t *testing.T) {
			rep, err := e.daily.Run(t.Context(), acct, payrecon.DayOf(day), jobs.RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			want := expect(e.day, providerOf(e, acct))
			if !equalCounts(rep.Counts, want.counts) {
				t.Fatalf("counts %v, want %v", rep.Counts, want.counts)
			}
			if !equalOutcomes(rep.Outcomes, want.outcomes) {
				t.Fatalf("outcomes %v, want %v", rep.Outcomes, want.outcomes)
			}
			if rep.Health != want.health {
				t.Fatalf("callback health %+v, want %+v", rep.Health, want.health)
			}
			audit := storetest.Must(e.db.Audit(t.Context(), acct))
			if len(audit) == 0 {
				t.Fatal("no audit rows for the repairs")
			}
			if left, _ := filepath.Glob(filepath.Join(filepath.Dir(rep.Workbook), ".workbook.tmp-*")); len(left) != 0 {
				t.Fatalf("the run left its workbook spill dir: %v", left)
			}
			// The workbook shows the same codes and amounts.
			f, err := excelize.OpenFile(rep.Workbook)
			if err != nil {
				t.Fatal(err)
			}
			rows, _ := f.GetRows("差异")
			sum, _ := f.GetRows("汇总")
			f.Close()
			var healthRow []string
			for _, r := range sum {
				if len(r) > 1 && r[0] == "查询补单" {
					healthRow = r
				}
			}
			if len(healthRow) < 2 || healthRow[1] != fmt.Sprint(want.health.Query) {
				t.Fatalf("汇总 callback health row %q", healthRow)
			}
			// The 14-day trend ends with the day, as measured after the repairs.
			trend := -1
			for i, r := range sum {
				if len(r) > 0 && r[0] == "回调健康度（近 14 天）" {
					trend = i
				}
			}
			if trend < 0 || len(sum) < trend+1+reports.TrendDays {
				t.Fatalf("汇总 has no 14-day callback health table: %q", sum)
			}
			last := sum[trend+reports.TrendDays]
			if first := sum[trend+1]; len(first) == 0 || first[0] != payrecon.DayOf(day).AddDays(1-reports.TrendDays).String() ||
				len(last) < 4 || last[0] != payrecon.DayOf(day).String() || last[2] != fmt.Sprint(want.health.Query) || last[3] != fmt.Sprint(want.health.BillOnly) {
				t.Fatalf("汇总 14-day callback health %q", sum[trend:trend+1+reports.TrendDays])
			}
			got := map[string]int{}
			for _, r := range rows[1:] {
				r = append(r, make([]string, 15)...)
				got[r[0]+"/"+r[13]]++ // the diff code and the resolution code
			}
			if got["MISSING_LOCAL/RECOVERED"] != want.counts[payrecon.MissingLocal] || got["AMOUNT_MISMATCH/NEEDS_REVIEW"] != want.counts[payrecon.AmountMismatch] ||
				got["MISSING_CHANNEL/CONFIRMED_ABSENT"] != want.counts[payrecon.MissingChannel] || got["CROSS_DAY/"] != want.counts[payrecon.CrossDay] || len(rows)-1 != want.problems() {
				t.Fatalf("差异 sheet %v", got)
			}

			// Re-running the day reports the same discrepancies (item by
			// item in TestDailyRerunKeepsHistory), repairs nothing twice
			// and replaces the stored rows, not adds to them.
			rep2, err := e.daily.Run(t.Context(), acct, payrecon.DayOf(day), jobs.RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !equalCounts(rep2.Counts, want.counts) {
				t.Fatalf("re-run counts %v, want %v", rep2.Counts, want.counts)
			}
			audit2 := storetest.Must(e.db.Audit(t.Context(), acct))
			if len(audit2) != len(audit) {
				t.Fatalf("re-run added %d audit rows", len(audit2)-len(audit))
			}
			ds := storetest.Must(e.db.Discrepancies(t.Context(), acct, payrecon.NewDay(2026, 11, 20)))
			if len(ds) != want.problems() {
				t.Fatalf("stored discrepancies after re-run: %d, want %d", len(ds), want.problems())
			}

			// The delayed callback finally arrives: acknowledged, one fact,
			// nothing counted twice.
			before := trades(t, e.db, acct)
			late, err := e.sb.LateDeliveries(e.day)
			if err != nil {
				t.Fatal(err)
			}
			late = slices.DeleteFunc(late, func(d sandbox.Delivery) bool { return d.Account != acct })
			if len(late) != 1 {
				t.Fatalf("%d late callbacks", len(late))
			}
			var log bytes.Buffer
			if _, err := sandbox.Deliver(t.Context(), e.intake.Client(), e.intake.URL, "late", late, &log); err != nil {
				t.Fatalf("%v\n%s", err, log.String())
			}
			if after := trades(t, e.db, acct); after != before {
				t.Fatalf("late callback changed the ledger:\n%s\n->\n%s", before, after)
			}
		})
	}
}

func TestDailyDryRunChangesNothing(t *testing.T) {
	e := setup(t, sandbox.ServerFaults{})
	acct := e.sb.ID.WeChat.Account
	before := storetest.Must(e.db.Count(t.Context()))
	var out bytes.Buffer
	rep, err := e.daily.Run(t.Context(), acct, payrecon.DayOf(day), jobs.RunOptions{DryRun: true, Progress: &out})
	if err != nil {
		t.Fatal(err)
	}
	if want := expect(e.day, payrecon.WeChatPay).outcomes[payrecon.OutcomeRecovered]; want == 0 || rep.Outcomes[payrecon.OutcomeRecovered] != want || rep.Workbook != "" {
		t.Fatalf("dry run report %+v", rep)
	}
	after := storetest.Must(e.db.Count(t.Context()))
	if after != before {
		t.Fatalf("dry run changed the ledger: %+v -> %+v", before, after)
	}
	if runs := storetest.Must(e.db.Runs(t.Context(), 10)); len(runs) != 0 {
		t.Fatalf("dry run recorded runs: %+v", runs)
	}
	if !bytes.Contains(out.Bytes(), []byte("would repair")) {
		t.Fatalf("progress:\n%s", out.String())
	}
}

func TestDailyBadBills(t *testing.T) {
	for name, faults := range map[string]sandbox.ServerFaults{
		"totals disagree": {CorruptTotals: true},
		"hash mismatch":   {BadHash: true},
		"never ready":     {BillNotReady: 1000},
	} {
		t.Run(name, func(t *testing.T) {
			e := setup(t, faults)
			before := storetest.Must(e.db.Count(t.Context()))
			_, err := e.daily.Run(t.Context(), e.sb.ID.WeChat.Account, payrecon.DayOf(day), jobs.RunOptions{})
			if err == nil {
				t.Fatal("run succeeded")
			}
			if name == "never ready" && !errors.Is(err, jobs.ErrBillUnavailable) {
				t.Fatalf("err = %v", err)
			}
			after := storetest.Must(e.db.Count(t.Context()))
			if after != before {
				t.Fatalf("failed run changed the ledger")
			}
			runs := storetest.Must(e.db.Runs(t.Context(), 1))
			if len(runs) != 1 || runs[0].Status != "failed" || runs[0].Workbook != "" {
				t.Fatalf("runs %+v", runs)
			}
		})
	}
}

// expected is what reconciling a sandbox day must find for one provider,
// derived from the day's own fault list (not from a run).
type expected struct {
	counts   map[payrecon.Code]int
	outcomes map[payrecon.Outcome]int
	health   payrecon.CallbackHealth
	// items is every trade and refund of the day, by itemKey, with its
	// code and resolution.
	items map[string]wantItem
}

// wantItem is how one trade or refund must come out of the run.
type wantItem struct {
	Code       payrecon.Code
	Resolution payrecon.Outcome
}

func (e expected) add(key string, c payrecon.Code, o payrecon.Outcome) {
	e.counts[c]++
	if o != "" {
		e.outcomes[o]++
	}
	e.items[key] = wantItem{c, o}
}

// problems is the number of discrepancies (everything but MATCHED).
func (e expected) problems() int {
	n := 0
	for c, k := range e.counts {
		if c != payrecon.Matched {
			n += k
		}
	}
	return n
}

func expect(d *sandbox.Day, p payrecon.Provider) expected {
	e := expected{counts: map[payrecon.Code]int{}, outcomes: map[payrecon.Outcome]int{}, items: map[string]wantItem{}}
	day := payrecon.DayOf(d.Date)
	for _, t := range d.Trades {
		if t.Provider != p {
			continue
		}
		key := "payment|" + t.OutTradeNo
		if day.Contains(t.PaidAt) {
			switch {
			case t.DropNotify || t.TamperNotify || t.DelayNotify: // no valid callback before the run: the query recovers it
				e.add(key, payrecon.MissingLocal, payrecon.OutcomeRecovered)
				e.health.Query++
			case t.NotifyAmount != 0 && t.NotifyAmount != t.AmountFen: // a signed callback with another amount
				e.add(key, payrecon.AmountMismatch, payrecon.OutcomeNeedsReview)
				e.health.Notify++
			case !day.Contains(t.PaidAt.Add(t.NotifyShift)): // the callback puts it on the day before
				e.add(key, payrecon.CrossDay, "")
			default:
				e.add(key, payrecon.Matched, "")
				e.health.Notify++
			}
		}
		for _, r := range t.Refunds {
			key := "refund|" + r.OutRefundNo
			switch {
			case !day.Contains(r.At):
			case r.DropNotify:
				e.add(key, payrecon.MissingLocal, payrecon.OutcomeRecovered)
			default:
				e.add(key, payrecon.Matched, "")
			}
		}
	}
	for _, g := range d.Ghosts { // signed for a trade the provider never had
		if g.Provider == p && day.Contains(g.PaidAt) {
			e.add("payment|"+g.OutTradeNo, payrecon.MissingChannel, payrecon.OutcomeConfirmedAbsent)
			e.health.Notify++
		}
	}
	return e
}

func providerOf(e *env, account string) payrecon.Provider {
	if account == e.sb.ID.Alipay.Account {
		return payrecon.Alipay
	}
	return payrecon.WeChatPay
}

func equalCounts(a, b map[payrecon.Code]int) bool {
	for _, c := range payrecon.Codes {
		if a[c] != b[c] {
			return false
		}
	}
	return true
}

func equalOutcomes(a, b map[payrecon.Outcome]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}

// trades renders an account's ledger (status and amounts) for comparison.
func trades(t *testing.T, db *store.DB, account string) string {
	t.Helper()
	ts, err := db.Trades(t.Context(), store.TradeFilter{Account: account})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, tr := range ts {
		fmt.Fprintf(&b, "%s %s %d %d %s\n", tr.OutTradeNo, tr.Status, tr.AmountFen, tr.RefundedFen, tr.Source)
	}
	return b.String()
}

func TestDailyPanicFailsTheRun(t *testing.T) {
	e := setup(t, sandbox.ServerFaults{})
	acct := e.sb.ID.WeChat.Account
	a := e.daily.Accounts[acct]
	a.Client = panicClient{}
	e.daily.Accounts[acct] = a
	_, err := e.daily.Run(t.Context(), acct, payrecon.DayOf(day), jobs.RunOptions{})
	if err == nil || !strings.Contains(err.Error(), "panic") {
		t.Fatalf("err = %v", err)
	}
	runs := storetest.Must(e.db.Runs(t.Context(), 1))
	if len(runs) != 1 || runs[0].Status != "failed" {
		t.Fatalf("runs %+v", runs)
	}
}

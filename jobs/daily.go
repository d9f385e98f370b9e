// Package jobs runs payrecon's batch work: the daily reconciliation of an
// (account, day) — obtain the bill, diff it against the ledger, chase every
// discrepancy with a provider query, repair with an audit trail, write the
// workbook — the same-day sweep of registered orders, the alerts and
// e-mails after a run, and the cron schedule that runs it all, with
// retries for bills that are not ready and catch-up of missed days.
package jobs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/archive"
	"github.com/payrecon/payrecon/provider"
	"github.com/payrecon/payrecon/reconcile"
	"github.com/payrecon/payrecon/reports"
)

// ErrDayNotOver is returned for a bill day that has not ended yet in
// Beijing time: the providers publish a day's bill the morning after.
var ErrDayNotOver = errors.New("the bill day has not ended yet (bills are published the morning after, Beijing time)")

// ErrBillUnavailable is returned when the bill is still not ready at the
// deadline.
var ErrBillUnavailable = archive.ErrBillUnavailable

// Account is one account the daily job reconciles.
type Account struct {
	Name     string
	Provider payrecon.Provider
	Client   provider.Client
	// FeeRateE4 is the agreed fee rate in hundredths of a percent (0: off).
	FeeRateE4 int64
	// EmailTo receives the workbook after each run.
	EmailTo []string
	// MerchantID is the account's Alipay seller id (PID) or WeChat Pay
	// mchid, and AppIDs its WeChat Pay apps: a bill imported by hand must
	// be theirs ("" or none: not checked).
	MerchantID string
	AppIDs     []string
}

// Options configure the daily job.
type Options struct {
	ArchiveDir string // bills are archived here, raw
	ReportsDir string // workbooks: {ReportsDir}/{account}/{YYYY-MM-DD}.xlsx
	Locale     string
	Loc        *time.Location // display zone: times in the workbook; never which day
	HoldDays   int
	// BillRetry is the wait between attempts at a bill that is not ready;
	// BillDeadline bounds the whole wait.
	BillRetry    time.Duration
	BillDeadline time.Duration
	// BillMaxBytes and BillMaxRatio bound a compressed bill once
	// decompressed (archive.Bills.MaxBytes, MaxRatio).
	BillMaxBytes, BillMaxRatio int64
	// QueryInterval rate-limits provider queries.
	QueryInterval time.Duration
	QueryBackoff  time.Duration
	// StartDate, when set, is every account's go-live date (see
	// [Daily.GoLive]).
	StartDate payrecon.Day
	// LeaseTTL is how long a run's lease of its day lasts unrenewed
	// (default [DefaultLeaseTTL]).
	LeaseTTL time.Duration
}

// Daily is the daily reconciliation.
type Daily struct {
	DB       ledger
	Accounts map[string]Account
	Opt      Options
	Now      func() time.Time
	Log      *slog.Logger
	// Deliver, when set, e-mails workbooks and sends alerts (see tell.go).
	Deliver Deliverer
	Alerts  Alerting
	// OnRun, when set, is told about every finished run (for metrics).
	OnRun func(rep Report, err error)
}

// RunOptions are per-run choices.
type RunOptions struct {
	DryRun   bool
	Trigger  string    // cli, cron, catch-up
	Progress io.Writer // human progress lines (may be nil)
	// BillFile reconciles this file instead of downloading (import-bill).
	BillFile string
	// Backfill allows a day before go-live (see [ErrBeforeGoLive]).
	Backfill bool
	// Leased says the caller holds the day's lease (from
	// [Daily.TakeLease], ctx ending with it): Run takes none.
	Leased bool
}

// Report is what a run did.
type Report struct {
	RunID         int64
	Account       string
	Day           payrecon.Day
	Bill          payrecon.BillTotals
	Counts        map[payrecon.Code]int
	Outcomes      map[payrecon.Outcome]int
	Discrepancies []payrecon.Discrepancy
	Workbook      string
	BillPath      string
	EmptyDay      bool
	// Totals is how the day ties out: bill, ledger before, repairs, ledger
	// after and the difference still open (not computed in a dry run).
	Totals payrecon.TieOut
	// Health is the day's callback health, after the repairs.
	Health payrecon.CallbackHealth
	// BillDownload is how long obtaining the bill took (retries included).
	BillDownload time.Duration
}

// WriteText writes the report for a person at a terminal: the bill's
// totals, each discrepancy with what became of it, the workbook.
func (rep Report) WriteText(w io.Writer) {
	b := rep.Bill
	fmt.Fprintf(w, "  bill: %d payments %s, %d refunds %s\n", b.Payments, b.PaymentFen.Yuan(), b.Refunds, b.RefundFen.Yuan())
	for _, d := range rep.Discrepancies {
		if d.Resolution == "" && d.Code == payrecon.CrossDay {
			fmt.Fprintf(w, "  %-16s %-8s %-26s carried over (%s)\n", d.Code, d.Kind, d.OrderNo(), d.Note)
			continue
		}
		res := string(d.Resolution)
		if d.ResolvedRun != 0 && d.ResolvedRun != rep.RunID {
			res += fmt.Sprintf(" (run %d)", d.ResolvedRun) // settled by an earlier run of the day
		}
		fmt.Fprintf(w, "  %-16s %-8s %-26s -> %-16s %s\n", d.Code, d.Kind, d.OrderNo(), res, d.QueryResult)
	}
	if rep.Workbook != "" {
		fmt.Fprintf(w, "  workbook: %s\n", rep.Workbook)
	}
	fmt.Fprintln(w)
}

// run is one reconciliation under way.
type run struct {
	*Daily
	acct        Account
	o           RunOptions
	rep         Report
	log         *slog.Logger
	bill        payrecon.Bill
	bills       *archive.Bills // the run's archive (a temp one for a dry run)
	wb          *reports.Workbook
	workbookSHA string
	// prior is what earlier runs of the day settled; matched the marks
	// of the items the diff matched.
	prior   history
	matched []payrecon.ReconMark
	// cleanups run when the run ends, last first (a dry run's temp files,
	// the workbook's spill files).
	cleanups []func()
	totals   tieOut
	// goLive is when the account went live (zero: unknown); rows the
	// ledger lacks from before it are BEFORE_START.
	goLive time.Time
}

// Run reconciles one account's bill day. A run never half-completes: if the
// bill cannot be had or fails its own totals check, no workbook is written
// and the ledger is untouched. Errors read "reconcile ACCOUNT DAY: step: …".
// A day before go-live is refused ([ErrBeforeGoLive]) unless o.Backfill;
// a day another run is reconciling fails at once with a
// [*payrecon.LeaseHeldError]: any caller is guarded by the day's lease.
func (d *Daily) Run(ctx context.Context, account string, day payrecon.Day, o RunOptions) (rep Report, err error) {
	acct, ok := d.Accounts[account]
	if !ok {
		return Report{Account: account, Day: day}, fmt.Errorf("reconcile %s %s: %w", account, day, payrecon.ErrUnknownAccount)
	}
	if !day.Before(payrecon.DayOf(d.Now())) {
		return Report{Account: account, Day: day}, fmt.Errorf("reconcile %s %s: %w", account, day, ErrDayNotOver)
	}
	goLive, err := d.checkGoLive(ctx, account, day, o)
	if err == nil && o.BillFile != "" {
		err = d.checkImport(acct, day, o.BillFile)
	}
	if err == nil && !o.DryRun && !o.Leased {
		var release func()
		if ctx, _, release, err = d.takeLease(ctx, account, day); err == nil {
			defer release()
		}
	}
	if err != nil {
		return Report{Account: account, Day: day}, fmt.Errorf("reconcile %s %s: %w", account, day, err)
	}
	o.Trigger = cmp.Or(o.Trigger, "cli")
	r := &run{Daily: d, acct: acct, o: o, log: d.Log.With("job", "reconcile", "account", account, "bill_date", day.String()),
		rep:   Report{Account: account, Day: day, Counts: map[payrecon.Code]int{}, Outcomes: map[payrecon.Outcome]int{}},
		bills: &archive.Bills{Dir: d.Opt.ArchiveDir, Ledger: d.DB, Now: d.Now, Retry: d.Opt.BillRetry, Deadline: d.Opt.BillDeadline, MaxBytes: d.Opt.BillMaxBytes, MaxRatio: d.Opt.BillMaxRatio}}
	if !o.DryRun {
		if r.rep.RunID, err = d.DB.StartRun(ctx, account, day, o.Trigger); err != nil {
			return r.rep, r.wrap("start", err)
		}
	}
	r.totals, r.goLive = tieOut{day: day, runID: r.rep.RunID}, goLive
	defer r.finish(ctx, &err)
	r.log.Info("reconcile start", "dry_run", o.DryRun, "trigger", o.Trigger)
	if r.prior, err = loadHistory(ctx, d.DB, account, day); err != nil {
		return r.rep, r.wrap("history", err)
	}
	if err := r.obtainBill(ctx); err != nil {
		return r.rep, r.wrap("bill", err)
	}
	pending, err := r.diff(ctx)
	if err != nil {
		return r.rep, r.wrap("diff", err)
	}
	if err := r.chase(ctx, pending); err != nil || o.DryRun {
		return r.rep, r.wrap("query", err)
	}
	if err := r.measureHealth(ctx); err != nil {
		return r.rep, r.wrap("health", err)
	}
	if err := r.measureTotals(ctx); err != nil {
		return r.rep, r.wrap("totals", err)
	}
	if err := r.writeWorkbook(); err != nil {
		return r.rep, r.wrap("workbook", err)
	}
	if err := d.DB.SaveReconciliation(ctx, r.rep.RunID, account, day, r.rep.Discrepancies, marks(r.matched, r.rep.Discrepancies)); err != nil {
		return r.rep, r.wrap("store", err)
	}
	if err := d.DB.SaveRunTotals(ctx, r.rep.RunID, r.rep.Totals); err != nil {
		return r.rep, r.wrap("store", err)
	}
	r.log.Info("reconcile done", "counts", countsLine(r.rep.Counts), "outcomes", outcomesLine(r.rep.Outcomes), "workbook", r.rep.Workbook)
	return r.rep, nil
}

// wrap names the account, day and step of an error (nil stays nil).
func (r *run) wrap(step string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("reconcile %s %s: %s: %w", r.rep.Account, r.rep.Day, step, err)
}

func (r *run) progress(format string, args ...any) {
	if r.o.Progress != nil {
		fmt.Fprintf(r.o.Progress, format+"\n", args...)
	}
}

// finish records how the run ended, whatever happened: a panic fails the
// run, not the process. Then it tells people and metrics.
func (r *run) finish(ctx context.Context, err *error) {
	if p := recover(); p != nil {
		*err = r.wrap("panic", fmt.Errorf("%v", p))
		r.log.Error("reconcile panicked", "err", *err)
	}
	for _, c := range slices.Backward(r.cleanups) { // last made, first undone
		c()
	}
	if cause := context.Cause(ctx); *err != nil && errors.Is(cause, payrecon.ErrLeaseLost) {
		*err = r.wrap("lease", cause) // another run took the day over: a failure, not a cancel
	}
	if r.o.DryRun {
		return
	}
	if ferr := r.DB.FinishRun(context.WithoutCancel(ctx), r.rep.RunID, r.bill.ID, r.rep.Counts, r.rep.Workbook, *err); ferr != nil {
		*err = errors.Join(*err, r.wrap("finish", ferr)) // a failed run whose end is not recorded says both
	}
	r.tell(ctx, r.acct, r.rep, r.workbookSHA, *err)
	if r.OnRun != nil {
		r.OnRun(r.rep, *err)
	}
}

// obtainBill archives the day's bill: the given file, or a download
// retried until the deadline.
func (r *run) obtainBill(ctx context.Context) error {
	bills := r.bills
	if r.o.DryRun { // a dry run writes nothing: the bill goes to a temp dir and is not recorded
		tmp, err := os.MkdirTemp("", "payrecon-dry-run-")
		if err != nil {
			return err
		}
		r.cleanups = append(r.cleanups, func() { os.RemoveAll(tmp) })
		bills.Dir, bills.Ledger = tmp, unrecorded{r.DB}
	}
	start := time.Now()
	var err error
	if r.o.BillFile != "" {
		r.bill, err = bills.Import(ctx, r.acct.Name, r.acct.Provider, r.rep.Day, r.o.BillFile, r.progress)
	} else {
		r.bill, err = bills.Download(ctx, r.acct.Name, r.acct.Client, r.rep.Day, r.progress)
	}
	r.rep.BillDownload = time.Since(start)
	r.rep.BillPath, r.rep.EmptyDay = r.bill.Path, r.bill.Empty()
	return err
}

// unrecorded is the ledger of a dry run's bills: it reads the archive's
// records and records nothing.
type unrecorded struct{ archive.Ledger }

func (unrecorded) RecordBill(context.Context, payrecon.Bill) (int64, error) { return 0, nil }

// holdDays is how far facts may sit on an adjacent day (default 2).
func (r *run) holdDays() int {
	if r.Opt.HoldDays <= 0 {
		return 2
	}
	return r.Opt.HoldDays
}

// diff streams the bill through the diff into the workbook and returns
// the discrepancies to chase. The ledger side covers the hold window and
// the adjacent days' archived bills; the bill is parsed while the window
// is read (reconcile.Pipeline).
func (r *run) diff(ctx context.Context) ([]payrecon.Discrepancy, error) {
	day, hold := r.rep.Day, r.holdDays()
	var err error
	if r.totals.before, err = r.DB.LedgerTotals(ctx, r.acct.Name, day.Start(), day.End()); err != nil {
		return nil, err
	}
	spill, err := r.spillDir()
	if err != nil {
		return nil, err
	}
	r.wb, err = reports.New(reports.Meta{Account: r.acct.Name, Provider: r.acct.Provider, Date: day, Locale: r.Opt.Locale, Loc: r.Opt.Loc,
		RunID: r.rep.RunID, Trigger: r.o.Trigger, GeneratedAt: r.Now(), BillSHA256: r.bill.SHA256, BillOrigin: r.bill.Origin, TmpDir: spill})
	if err != nil {
		return nil, err
	}
	r.cleanups = append(r.cleanups, func() { r.wb.Close() }) // a run that fails before the workbook is written
	var pending []payrecon.Discrepancy
	var wbErr error
	load := func() ([]reconcile.LedgerTrade, []reconcile.LedgerRefund, error) {
		trades, refunds, err := LoadWindow(ctx, r.DB, r.acct.Name, day.AddDays(-hold).Start(), day.AddDays(hold).End())
		if err == nil {
			r.progress("  ledger: %d trades and %d refunds in the ±%d-day window", len(trades), len(refunds), hold)
		}
		return trades, refunds, err
	}
	parse := func(fn func(payrecon.BillEntry) error) (payrecon.BillTotals, error) {
		if r.bill.Empty() {
			return r.rep.Bill, nil
		}
		tot, err := archive.Parse(r.bill, fn)
		if err != nil {
			return tot, fmt.Errorf("bill %s: %w", r.bill.Path, err)
		}
		return tot, nil
	}
	adjacent := func(fn func(payrecon.BillEntry) error) error {
		return r.bills.Neighbours(ctx, r.acct.Name, day, hold, fn)
	}
	r.rep.Bill, err = reconcile.Pipeline(day, reconcile.Options{HoldDays: hold, FeeRateE4: r.acct.FeeRateE4}, adjacent, load, parse, func(it payrecon.Discrepancy) {
		it = r.prior.carry(r.beforeStart(it))
		r.totals.add(it)
		r.rep.Counts[it.Code]++
		if it.Code != payrecon.Matched {
			pending = append(pending, it)
		} else if m, ok := payrecon.MarkOf(it); ok && !r.o.DryRun {
			r.matched = append(r.matched, m)
		}
		if wbErr == nil {
			wbErr = r.wb.Add(it)
		}
	})
	if err != nil {
		return nil, err
	}
	r.progress("  diff: %s", countsLine(r.rep.Counts))
	return pending, wbErr
}

// spillDir makes the directory the workbook spills rows to while it is
// built, beside the workbooks ("{reports.dir}/ACCOUNT/.workbook.tmp-PID-…",
// removed when the run ends; one a killed run leaves is removed by the
// next start, see [archive.CleanTemp]). A dry run spills to the system's
// temp dir ("") and writes nothing under reports.dir.
func (r *run) spillDir() (string, error) {
	if r.o.DryRun {
		return "", nil
	}
	dir := filepath.Join(r.Opt.ReportsDir, r.acct.Name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	spill, err := os.MkdirTemp(dir, fmt.Sprintf(".workbook.tmp-%d-", os.Getpid()))
	if err != nil {
		return "", err
	}
	r.cleanups = append(r.cleanups, func() { os.RemoveAll(spill) })
	return spill, nil
}

// chase queries the provider about every discrepancy and repairs what it
// confirms; it returns the discrepancies as they are to be stored. An
// item an earlier run settled (carried from the history) is not chased
// again.
func (r *run) chase(ctx context.Context, pending []payrecon.Discrepancy) error {
	var src payrecon.Source // how the ledger learns the item being resolved
	res := &reconcile.Resolver{Query: r.acct.Client, DryRun: r.o.DryRun, Interval: r.Opt.QueryInterval, Backoff: r.Opt.QueryBackoff,
		Repair: func(ctx context.Context, ev *payrecon.Event, reason, evidence string) (bool, error) {
			return r.DB.ApplyQuery(ctx, payrecon.Repair{Account: r.acct.Name, Provider: r.acct.Provider, Day: r.rep.Day,
				RunID: r.rep.RunID, Reason: reason, Evidence: evidence, Source: src}, ev)
		}}
	for _, it := range pending {
		src = sourceOf(it)
		if it.Resolution != "" { // settled by an earlier run
			r.rep.Outcomes[it.Resolution]++
			r.rep.Discrepancies = append(r.rep.Discrepancies, it)
			continue
		}
		got, err := res.Resolve(ctx, it)
		if err != nil {
			return err
		}
		if got.Outcome != "" {
			r.rep.Outcomes[got.Outcome]++
			it.ResolvedRun = r.rep.RunID
		}
		it.QueryResult, it.Resolution = got.QueryResult, got.Outcome
		if got.Code != "" && got.Code != it.Code { // the answer is in another currency
			was := it
			it.Code, it.Currency = got.Code, got.Currency
			if r.rep.Counts[was.Code]--; r.rep.Counts[was.Code] == 0 {
				delete(r.rep.Counts, was.Code)
			}
			r.rep.Counts[it.Code]++
			r.wb.Reclassify(was, it)
		}
		if err := r.dispute(ctx, it); err != nil {
			return err
		}
		r.rep.Discrepancies = append(r.rep.Discrepancies, it)
		if r.o.DryRun && got.Changed {
			r.progress("  would repair %s %s %s: %s", it.Code, it.Kind, it.OrderNo(), got.QueryResult)
		}
	}
	r.progress("  resolution: %s", outcomesLine(r.rep.Outcomes))
	if r.o.DryRun {
		r.progress("  dry run: ledger, discrepancies and workbook left unchanged")
	}
	return nil
}

// dispute writes trade.disputed for a paid trade the provider denies
// (CONFIRMED_ABSENT), once; a dry run writes nothing.
func (r *run) dispute(ctx context.Context, it payrecon.Discrepancy) error {
	if r.o.DryRun || it.Resolution != payrecon.OutcomeConfirmedAbsent || it.Kind != payrecon.EntryPayment || it.OutTradeNo == "" {
		return nil
	}
	if _, err := r.DB.DisputeTrade(ctx, r.acct.Name, it.OutTradeNo); err != nil {
		return fmt.Errorf("dispute %s: %w", it.OutTradeNo, err)
	}
	return nil
}

// measureHealth counts the day's callback health after the repairs (what
// the ledger learned from notifications and from queries, plus paid trades
// still only on the bill) and adds it and the registered orders to the
// workbook.
func (r *run) measureHealth(ctx context.Context) error {
	day := r.rep.Day
	health, hours, err := r.DB.CallbackHealth(ctx, r.acct.Name, day.Start(), day.End())
	if err != nil {
		return err
	}
	for _, it := range r.rep.Discrepancies {
		if it.Code == payrecon.MissingLocal && it.Kind == payrecon.EntryPayment && it.Resolution != payrecon.OutcomeRecovered {
			health.BillOnly++
			if h := it.BillAt.In(payrecon.ShanghaiFixed).Hour(); h >= 0 && h < len(hours) {
				hours[h].BillOnly++
			}
		}
	}
	r.rep.Health = health
	r.wb.SetHealth(health, hours)
	trend, err := r.healthTrend(ctx, health)
	if err != nil {
		return err
	}
	r.wb.SetHealthTrend(trend)
	orders, err := r.DB.Orders(ctx, r.acct.Name, day.Start(), day.End())
	if err != nil {
		return err
	}
	var ros []reports.Order
	for _, o := range orders {
		ros = append(ros, reports.Order{OutTradeNo: o.OutTradeNo, AmountFen: o.AmountFen, Status: string(o.Status), LastResult: o.LastResult})
	}
	r.wb.SetOrders(ros)
	r.progress("  callback health: %s", health)
	return nil
}

// healthTrend is the account's callback health of the last
// [reports.TrendDays] days, from the ledger, ending with the run's day
// (today, whose health counts the trades still only on the bill too).
func (r *run) healthTrend(ctx context.Context, today payrecon.CallbackHealth) ([]reports.DayHealth, error) {
	days := make([]reports.DayHealth, 0, reports.TrendDays)
	for i := reports.TrendDays - 1; i > 0; i-- {
		d := r.rep.Day.AddDays(-i)
		h, _, err := r.DB.CallbackHealth(ctx, r.acct.Name, d.Start(), d.End())
		if err != nil {
			return nil, fmt.Errorf("health %s: %w", d, err)
		}
		days = append(days, reports.DayHealth{Day: d, CallbackHealth: h})
	}
	return append(days, reports.DayHealth{Day: r.rep.Day, CallbackHealth: today}), nil
}

// writeWorkbook writes the workbook atomically to
// {ReportsDir}/{account}/{YYYY-MM-DD}.xlsx.
func (r *run) writeWorkbook() error {
	path := filepath.Join(r.Opt.ReportsDir, r.acct.Name, r.rep.Day.String()+".xlsx")
	written, err := archive.WriteFile(path, func(w io.Writer) error { return r.wb.Finish(r.rep.Bill, r.rep.Discrepancies, w) })
	if err != nil {
		return err
	}
	r.workbookSHA = written.SHA256
	r.rep.Workbook = path
	return nil
}

func countsLine(c map[payrecon.Code]int) string {
	return cmp.Or(payrecon.Tally(payrecon.Codes, c), "nothing to reconcile")
}

func outcomesLine(c map[payrecon.Outcome]int) string {
	return cmp.Or(payrecon.Tally(payrecon.Outcomes, c), "nothing to chase")
}

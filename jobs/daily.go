// Package jobs runs payrecon's batch work: the daily reconciliation of an
// (account, day) — download the bill, archive it, diff it against the
// ledger, chase every discrepancy with a provider query, repair with an
// audit trail, write the workbook — and the cron schedule that runs it,
// with retries for bills that are not ready and catch-up of missed days.
package jobs

import (
	"compress/gzip"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider"
	"github.com/payrecon/payrecon/provider/alipay"
	"github.com/payrecon/payrecon/provider/wechatpay"
	"github.com/payrecon/payrecon/reconcile"
	"github.com/payrecon/payrecon/reports"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/archive"
)

// Account is one account the daily job reconciles.
type Account struct {
	Name     string
	Provider payrecon.Provider
	Client   provider.Client
	// FeeRateE4 is the agreed fee rate in hundredths of a percent (0: off).
	FeeRateE4 int64
	// EmailTo receives the workbook after each run.
	EmailTo []string
}

// Options configure the daily job.
type Options struct {
	ArchiveDir string // bills are archived here, raw
	ReportsDir string // workbooks: {ReportsDir}/{account}/{YYYY-MM-DD}.xlsx
	Locale     string
	Loc        *time.Location // display zone
	HoldDays   int
	// BillRetry is the wait between attempts at a bill that is not ready;
	// BillDeadline bounds the whole wait.
	BillRetry    time.Duration
	BillDeadline time.Duration
	// QueryInterval rate-limits provider queries.
	QueryInterval time.Duration
	QueryBackoff  time.Duration
}

// Daily is the daily reconciliation.
type Daily struct {
	DB       *store.DB
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
}

// Report is what a run did.
type Report struct {
	RunID         int64
	Account       string
	Date          string
	Bill          payrecon.BillTotals
	Counts        map[payrecon.Code]int
	Outcomes      map[payrecon.Outcome]int
	Discrepancies []payrecon.Discrepancy
	Workbook      string
	BillPath      string
	EmptyDay      bool
	// Health is the day's callback health, after the repairs.
	Health payrecon.CallbackHealth
	// BillDownload is how long obtaining the bill took (retries included).
	BillDownload time.Duration
}

// ErrBillUnavailable is returned when the bill is still not ready at the
// deadline.
var ErrBillUnavailable = errors.New("bill still not available at the deadline")

func (d *Daily) progress(o RunOptions, format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, format+"\n", args...)
	}
}

// Run reconciles one account's day. A run never half-completes: if the bill
// cannot be had or fails its own totals check, no workbook is written and
// the ledger is untouched.
func (d *Daily) Run(ctx context.Context, account string, day time.Time, o RunOptions) (rep Report, err error) {
	acct, ok := d.Accounts[account]
	if !ok {
		return rep, fmt.Errorf("reconcile: unknown account %q", account)
	}
	y, m, dd := day.In(payrecon.ShanghaiFixed).Date()
	start := time.Date(y, m, dd, 0, 0, 0, 0, payrecon.ShanghaiFixed)
	date := start.Format("2006-01-02")
	rep = Report{Account: account, Date: date, Counts: map[payrecon.Code]int{}, Outcomes: map[payrecon.Outcome]int{}}
	log := d.Log.With("job", "reconcile", "account", account, "bill_date", date)
	if o.Trigger == "" {
		o.Trigger = "cli"
	}
	var billID int64
	var workbookSHA string
	if !o.DryRun {
		if rep.RunID, err = d.DB.StartRun(ctx, account, date, o.Trigger); err != nil {
			return rep, err
		}
	}
	// A panic fails the run, not the process; the run is recorded either way.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("reconcile %s %s: panic: %v", account, date, p)
			log.Error("reconcile panicked", "err", err)
		}
		if o.DryRun {
			return
		}
		if ferr := d.DB.FinishRun(context.WithoutCancel(ctx), rep.RunID, billID, rep.Counts, rep.Workbook, err); ferr != nil && err == nil {
			err = ferr
		}
		d.tell(ctx, acct, rep, workbookSHA, err)
		if d.OnRun != nil {
			d.OnRun(rep, err)
		}
	}()
	log.Info("reconcile start", "dry_run", o.DryRun, "trigger", o.Trigger)

	// 1. The bill: downloaded (with retries until the deadline) or given.
	fetchStart := time.Now()
	bill, err := d.obtainBill(ctx, acct, start, o)
	rep.BillDownload = time.Since(fetchStart)
	if err != nil {
		return rep, fmt.Errorf("reconcile %s %s: %w", account, date, err)
	}
	billID, rep.BillPath, rep.EmptyDay = bill.ID, bill.Path, bill.Path == ""

	// 2. The ledger side of the hold window, and adjacent days' bills.
	hold := d.Opt.HoldDays
	if hold <= 0 {
		hold = 2
	}
	from, to := start.AddDate(0, 0, -hold), start.AddDate(0, 0, 1+hold)
	trades, refunds, err := LoadWindow(ctx, d.DB, account, from, to)
	if err != nil {
		return rep, err
	}
	var adjacent []payrecon.BillEntry
	for i := -hold; i <= hold; i++ {
		if i == 0 {
			continue
		}
		other := start.AddDate(0, 0, i).Format("2006-01-02")
		b, err := d.DB.LatestBill(ctx, account, other)
		if errors.Is(err, store.ErrNotFound) || (err == nil && b.Path == "") {
			continue
		}
		if err != nil {
			return rep, err
		}
		if _, err := ParseBillFile(b.Path, provider.BillFormat(b.Format), func(e payrecon.BillEntry) error {
			adjacent = append(adjacent, e)
			return nil
		}); err != nil {
			return rep, fmt.Errorf("reconcile %s %s: adjacent bill %s: %w", account, date, other, err)
		}
	}
	d.progress(o, "  ledger: %d trades and %d refunds in the ±%d-day window; %d rows on adjacent bills", len(trades), len(refunds), hold, len(adjacent))

	// 3. Diff, streaming the bill into the workbook.
	wb, err := reports.New(reports.Meta{Account: account, Provider: acct.Provider, Date: payrecon.DayOf(start), Locale: d.Opt.Locale, Loc: d.Opt.Loc,
		RunID: rep.RunID, Trigger: o.Trigger, GeneratedAt: d.Now(), BillSHA256: bill.SHA256, BillOrigin: bill.Origin})
	if err != nil {
		return rep, err
	}
	var pending []payrecon.Discrepancy
	var wbErr error
	diff := reconcile.New(payrecon.DayOf(start), reconcile.Options{HoldDays: hold, FeeRateE4: acct.FeeRateE4}, trades, refunds, adjacent, func(it payrecon.Discrepancy) {
		rep.Counts[it.Code]++
		if it.Code != payrecon.Matched {
			pending = append(pending, it)
		}
		if wbErr == nil {
			wbErr = wb.Add(it)
		}
	})
	if bill.Path != "" {
		tot, err := ParseBillFile(bill.Path, provider.BillFormat(bill.Format), func(e payrecon.BillEntry) error {
			diff.Add(e)
			return nil
		})
		if err != nil {
			return rep, fmt.Errorf("reconcile %s %s: bill %s: %w", account, date, bill.Path, err)
		}
		rep.Bill = tot
	}
	diff.Finish()
	if wbErr != nil {
		return rep, wbErr
	}
	diff, trades, refunds, adjacent = nil, nil, nil, nil // free the ledger index before queries and the workbook
	d.progress(o, "  diff: %s", countsLine(rep.Counts))

	// 4. Chase every discrepancy.
	res := &reconcile.Resolver{Query: acct.Client, DryRun: o.DryRun, Interval: d.Opt.QueryInterval, Backoff: d.Opt.QueryBackoff,
		Repair: func(ctx context.Context, ev *payrecon.Event, reason, evidence string) (bool, error) {
			return d.DB.ApplyQuery(ctx, store.Repair{Account: account, Provider: acct.Provider, Date: date, RunID: rep.RunID, Reason: reason, Evidence: evidence}, ev)
		}}
	var stored []store.Discrepancy
	for _, it := range pending {
		r, err := res.Resolve(ctx, it)
		if err != nil {
			return rep, fmt.Errorf("reconcile %s %s: %w", account, date, err)
		}
		if r.Outcome != "" {
			rep.Outcomes[r.Outcome]++
		}
		it.QueryResult, it.Resolution = r.QueryResult, r.Outcome
		rep.Discrepancies = append(rep.Discrepancies, it)
		if o.DryRun && r.Changed {
			d.progress(o, "  would repair %s %s %s: %s", it.Code, it.Kind, firstNonEmpty(it.OutRefundNo, it.OutTradeNo), r.QueryResult)
		}
		stored = append(stored, store.Discrepancy{Code: string(it.Code), Kind: string(it.Kind), OutTradeNo: it.OutTradeNo,
			ProviderTradeNo: it.ProviderTradeNo, OutRefundNo: it.OutRefundNo, BillFen: nullFen(it.HasBill, it.BillFen),
			LedgerFen: nullFen(it.HasLedger, it.LedgerFen), Note: it.Note, QueryResult: r.QueryResult, Resolution: string(r.Outcome)})
	}
	d.progress(o, "  resolution: %s", outcomesLine(rep.Outcomes))
	if o.DryRun {
		d.progress(o, "  dry run: ledger, discrepancies and workbook left unchanged")
		return rep, nil
	}

	// 5. Callback health, after the repairs: what the ledger learned from
	// notifications and from queries, plus paid trades still only on the bill.
	health, hours, err := d.DB.CallbackHealth(ctx, account, start, start.AddDate(0, 0, 1))
	if err != nil {
		return rep, err
	}
	for _, r := range rep.Discrepancies {
		if r.Code == payrecon.MissingLocal && r.Kind == payrecon.EntryPayment && r.Resolution != payrecon.OutcomeRecovered {
			health.BillOnly++
			if h := r.BillAt.In(payrecon.ShanghaiFixed).Hour(); h >= 0 && h < len(hours) {
				hours[h].BillOnly++
			}
		}
	}
	rep.Health = health
	wb.SetHealth(health, hours)
	orders, err := d.DB.Orders(ctx, account, start, start.AddDate(0, 0, 1))
	if err != nil {
		return rep, err
	}
	var ros []reports.Order
	for _, o := range orders {
		ros = append(ros, reports.Order{OutTradeNo: o.OutTradeNo, AmountFen: payrecon.Fen(o.AmountFen), Status: o.Status, LastResult: o.LastResult})
	}
	wb.SetOrders(ros)
	d.progress(o, "  callback health: %s", health)

	// 6. The workbook, atomically; then the stored discrepancies.
	path := filepath.Join(d.Opt.ReportsDir, account, date+".xlsx")
	written, err := archive.WriteFile(path, func(w io.Writer) error { return wb.Finish(rep.Bill, rep.Discrepancies, w) })
	if err != nil {
		return rep, err
	}
	workbookSHA = written.SHA256
	rep.Workbook = path
	if err := d.DB.ReplaceDiscrepancies(ctx, rep.RunID, account, date, stored); err != nil {
		return rep, err
	}
	log.Info("reconcile done", "counts", countsLine(rep.Counts), "outcomes", outcomesLine(rep.Outcomes), "workbook", path)
	return rep, nil
}

// obtainBill archives the day's bill (downloaded, or the given file) and
// returns its record; an empty day has an empty Path.
func (d *Daily) obtainBill(ctx context.Context, acct Account, day time.Time, o RunOptions) (store.Bill, error) {
	date := day.Format("2006-01-02")
	if o.BillFile != "" {
		return d.importBill(ctx, acct, date, o)
	}
	deadline := time.Now().Add(d.Opt.BillDeadline)
	retry := d.Opt.BillRetry
	if retry <= 0 {
		retry = 10 * time.Minute
	}
	for attempt := 1; ; attempt++ {
		var format provider.BillFormat
		tmpDir := filepath.Join(d.Opt.ArchiveDir, acct.Name, date)
		stamp := d.Now().UTC().Format("20060102T150405.000")
		path := filepath.Join(tmpDir, stamp+".download")
		res, err := archive.WriteFile(path, func(w io.Writer) error {
			var err error
			format, err = acct.Client.DownloadBill(ctx, day, w)
			return err
		})
		switch {
		case err == nil:
			final := filepath.Join(tmpDir, stamp+extension(format))
			if err := os.Rename(path, final); err != nil {
				return store.Bill{}, err
			}
			return d.recordBill(ctx, acct.Name, date, string(format), final, res, "download", o)
		case errors.Is(err, provider.ErrNoBill):
			d.progress(o, "  bill: the provider has no bill for %s (no business that day)", date)
			id, err := d.DB.RecordBill(ctx, store.Bill{Account: acct.Name, Date: date, Format: "none", SHA256: "empty", Origin: "download"})
			return store.Bill{ID: id}, err
		case errors.Is(err, provider.ErrBillNotReady) || provider.IsRetryable(err):
			if !time.Now().Add(retry).Before(deadline) {
				return store.Bill{}, fmt.Errorf("%w (after %d attempts; last: %v)", ErrBillUnavailable, attempt, err)
			}
			var pe *provider.Error
			if errors.As(err, &pe) {
				err = pe // the provider's words, without the temp-file path
			}
			d.progress(o, "  bill: not available yet (%v); retrying in %s", err, retry)
			if err := sleepCtx(ctx, retry); err != nil {
				return store.Bill{}, err
			}
		default:
			return store.Bill{}, err
		}
	}
}

func (d *Daily) recordBill(ctx context.Context, account, date, format, path string, res archive.Result, origin string, o RunOptions) (store.Bill, error) {
	if prev, err := d.DB.LatestBill(ctx, account, date); err == nil && prev.SHA256 == res.SHA256 && prev.Path != path {
		os.Remove(path) // the same bytes are archived already
		path = prev.Path
	}
	b := store.Bill{Account: account, Date: date, Format: format, Path: path, SHA256: res.SHA256, Size: res.Size, Origin: origin}
	id, err := d.DB.RecordBill(ctx, b)
	if err != nil {
		return store.Bill{}, err
	}
	b.ID = id
	d.progress(o, "  bill: %s (%d bytes, sha256 %s…)", path, res.Size, res.SHA256[:12])
	return b, nil
}

// importBill archives a bill file the merchant downloaded by hand (zip,
// csv or gz) through the same path as a download.
func (d *Daily) importBill(ctx context.Context, acct Account, date string, o RunOptions) (store.Bill, error) {
	in, err := os.Open(o.BillFile)
	if err != nil {
		return store.Bill{}, fmt.Errorf("import bill: %w", err)
	}
	defer in.Close()
	format := provider.WeChatCSV
	if acct.Provider == payrecon.Alipay {
		format = provider.AlipayZip
	}
	var src io.Reader = in
	lower := strings.ToLower(o.BillFile)
	switch {
	case strings.HasSuffix(lower, ".gz"):
		zr, err := gzip.NewReader(in)
		if err != nil {
			return store.Bill{}, fmt.Errorf("import bill: %w", err)
		}
		src = zr
	case acct.Provider == payrecon.Alipay && strings.HasSuffix(lower, ".csv"):
		format = "alipay-csv"
	}
	path := filepath.Join(d.Opt.ArchiveDir, acct.Name, date, d.Now().UTC().Format("20060102T150405.000")+extension(format))
	res, err := archive.WriteFile(path, func(w io.Writer) error { _, err := io.Copy(w, src); return err })
	if err != nil {
		return store.Bill{}, fmt.Errorf("import bill: %w", err)
	}
	return d.recordBill(ctx, acct.Name, date, string(format), path, res, "import", o)
}

func extension(f provider.BillFormat) string {
	switch f {
	case provider.AlipayZip:
		return ".csv.zip"
	default:
		return ".csv"
	}
}

// ParseBillFile parses an archived bill file of the given format,
// streaming its rows to fn.
func ParseBillFile(path string, format provider.BillFormat, fn func(payrecon.BillEntry) error) (payrecon.BillTotals, error) {
	f, err := os.Open(path)
	if err != nil {
		return payrecon.BillTotals{}, err
	}
	defer f.Close()
	switch format {
	case provider.AlipayZip:
		st, err := f.Stat()
		if err != nil {
			return payrecon.BillTotals{}, err
		}
		return alipay.ParseBillZip(f, st.Size(), fn)
	case "alipay-csv":
		return alipay.ParseBillCSV(f, fn)
	case provider.WeChatCSV:
		return wechatpay.ParseBill(f, fn)
	}
	return payrecon.BillTotals{}, fmt.Errorf("unknown bill format %q", format)
}

func nullFen(ok bool, f payrecon.Fen) sql.NullInt64 { return sql.NullInt64{Int64: int64(f), Valid: ok} }

func countsLine(c map[payrecon.Code]int) string {
	var parts []string
	for _, code := range payrecon.Codes {
		if c[code] > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", code, c[code]))
		}
	}
	if len(parts) == 0 {
		return "nothing to reconcile"
	}
	return strings.Join(parts, " ")
}

func outcomesLine(c map[payrecon.Outcome]int) string {
	var parts []string
	for _, k := range payrecon.Outcomes {
		if c[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", k, c[k]))
		}
	}
	if len(parts) == 0 {
		return "nothing to chase"
	}
	return strings.Join(parts, " ")
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

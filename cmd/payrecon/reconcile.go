package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/config"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/store"
)

// newDaily wires the daily reconciliation from the config.
func newDaily(cfg config.Config, accts []Account, db *store.DB, logger *slog.Logger) (*jobs.Daily, error) {
	loc, err := time.LoadLocation(cfg.Timezone)
	if err != nil {
		return nil, err
	}
	d := &jobs.Daily{DB: db, Now: time.Now, Log: logger, Accounts: map[string]jobs.Account{},
		Opt: jobs.Options{ArchiveDir: cfg.Path(cfg.ArchiveDir), ReportsDir: cfg.Path(cfg.Reports.Dir), Locale: cfg.Reports.Locale, Loc: loc,
			HoldDays: cfg.Reconcile.HoldDays, BillRetry: time.Duration(cfg.Reconcile.BillRetryInterval),
			BillDeadline: time.Duration(cfg.Reconcile.BillDeadline), QueryInterval: time.Duration(cfg.Reconcile.QueryInterval),
			BillMaxBytes: int64(cfg.Limits.BillMaxBytes), BillMaxRatio: int64(cfg.Limits.BillMaxRatio),
			StartDate: payrecon.Day(cfg.Reconcile.StartDate)}}
	for _, a := range accts {
		c := a.Config
		d.Accounts[c.Name] = jobs.Account{Name: c.Name, Provider: a.Provider, EmailTo: c.EmailTo,
			FeeRateE4: int64(c.FeeRate), Client: a.Client, MerchantID: merchantID(c), AppIDs: appIDs(c)}
	}
	return d, nil
}

// newScheduler builds the cron scheduler, or nil when scheduling is off.
func newScheduler(cfg config.Config, d *jobs.Daily, logger *slog.Logger) *jobs.Scheduler {
	specs := map[string]string{}
	for _, a := range cfg.Accounts {
		spec := cfg.Reconcile.Schedule
		if a.Schedule != "" {
			spec = a.Schedule
		}
		if spec != "off" {
			specs[a.Name] = spec
		}
	}
	if len(specs) == 0 {
		return nil
	}
	return &jobs.Scheduler{Daily: d, Specs: specs, CatchUpDays: cfg.Reconcile.CatchUpDays, Log: logger}
}

// parseDay reads a -date flag: a bill day (a Beijing-time date), or
// yesterday in Beijing time when empty.
func parseDay(s string, now time.Time) (payrecon.Day, error) {
	if s == "" {
		return payrecon.DayOf(now).AddDays(-1), nil
	}
	d, err := payrecon.ParseDay(s)
	if err != nil {
		return payrecon.Day{}, fmt.Errorf("-date: want YYYY-MM-DD (got %q)", s)
	}
	return d, nil
}

func cmdReconcile(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("reconcile", stderr)
	path := fs.String("config", "", "config file")
	account := fs.String("account", "", "account to reconcile (default: every account)")
	date := fs.String("date", "", "bill day, YYYY-MM-DD in Beijing time (default: yesterday)")
	dry := fs.Bool("dry-run", false, "query the provider and show what would change; change nothing")
	backfill := fs.Bool("backfill", false, "reconcile a day before go-live (its missing trades are BEFORE_START, backfilled from the bill)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return reconcileWith(ctx, *path, *account, *date, "", runFlags{dry: *dry, backfill: *backfill}, getenv, stdout, stderr)
}

func cmdImportBill(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("import-bill", stderr)
	path := fs.String("config", "", "config file")
	account := fs.String("account", "", "account the bill belongs to")
	date := fs.String("date", "", "bill day, YYYY-MM-DD")
	dry := fs.Bool("dry-run", false, "show what would change; change nothing")
	backfill := fs.Bool("backfill", false, "import a bill of a day before go-live")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 || *account == "" || *date == "" {
		return fmt.Errorf("%w: payrecon import-bill -config F -account A -date D [-backfill] FILE", errUsage)
	}
	return reconcileWith(ctx, *path, *account, *date, fs.Arg(0), runFlags{dry: *dry, backfill: *backfill}, getenv, stdout, stderr)
}

// runFlags are the flags reconcile and import-bill share.
type runFlags struct{ dry, backfill bool }

func reconcileWith(ctx context.Context, path, account, date, billFile string, f runFlags, getenv func(string) string, stdout, stderr io.Writer) error {
	dry := f.dry
	cfg, accts, err := loadConfig(path, getenv)
	if err != nil {
		return err
	}
	if account != "" && !hasAccount(cfg, account) {
		return fmt.Errorf("-account: no account %q in %s", account, path)
	}
	day, err := parseDay(date, time.Now())
	if err != nil {
		return err
	}
	logger := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)
	src, err := cfg.DatabaseSource(getenv)
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, src, store.Options{}, logger)
	if err != nil {
		return err
	}
	defer db.Close()
	daily, err := newDaily(cfg, accts, db, logger)
	if err != nil {
		return err
	}
	if !dry {
		if err := cleanLeftovers(ctx, cfg, db, false, logger); err != nil {
			return err
		}
		disp, alerting, err := newDeliverer(cfg, db, getenv, &http.Client{Timeout: 30 * time.Second}, logger)
		if err != nil {
			return err
		}
		if disp != nil {
			daily.Deliver, daily.Alerts = disp, alerting
		}
	}
	var failed int
	for _, a := range cfg.Accounts {
		if account != "" && a.Name != account {
			continue
		}
		fmt.Fprintf(stdout, "== %s %s (%s)%s\n", a.Name, day, a.Provider, map[bool]string{true: " [dry run]"}[dry])
		rep, err := daily.Run(ctx, a.Name, day, jobs.RunOptions{DryRun: dry, Backfill: f.backfill, Trigger: "cli", Progress: stdout, BillFile: billFile})
		if err != nil {
			failed++
			fmt.Fprintf(stdout, "  FAILED: %v\n\n", err)
			continue
		}
		rep.WriteText(stdout)
	}
	if failed > 0 {
		return fmt.Errorf("%d reconciliation(s) failed", failed)
	}
	return nil
}

func cmdRuns(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("runs", stderr)
	path := fs.String("config", "", "config file")
	n := fs.Int("n", 20, "how many runs")
	asJSON := fs.Bool("json", false, "one JSON object per line")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := readConfig(*path)
	if err != nil {
		return err
	}
	db, err := openLedger(ctx, cfg, getenv)
	if err != nil {
		return err
	}
	defer db.Close()
	runs, err := db.Runs(ctx, *n)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, r := range runs {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	loc, err := time.LoadLocation(cfg.Timezone)
	if err != nil {
		return fmt.Errorf("runs: timezone: %w", err)
	}
	return writeRuns(stdout, runs, loc)
}

// writeRuns prints runs as a table, times in loc, with each run's open
// difference (payments and refunds still unexplained by the ledger).
func writeRuns(w io.Writer, runs []payrecon.Run, loc *time.Location) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tACCOUNT\tDATE\tTRIGGER\tSTATUS\tSTARTED\tCOUNTS\tOPEN\tERROR")
	for _, r := range runs {
		open := "-"
		if t := r.Totals; t != nil {
			open = fmt.Sprintf("pay %d %s, ref %d %s", t.Open.Payments, t.Open.PaymentsFen.Yuan(), t.Open.Refunds, t.Open.RefundsFen.Yuan())
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Account, r.Day, r.Trigger, r.Status,
			r.StartedAt.In(loc).Format("2006-01-02 15:04:05 MST"), payrecon.Tally(payrecon.Codes, r.Counts), open, r.Error)
	}
	return tw.Flush()
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"github.com/payrecon/payrecon/bench"
	"github.com/payrecon/payrecon/config"
	"github.com/payrecon/payrecon/provider"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `payrecon keeps a small merchant's Alipay and WeChat Pay payments honest.

Usage:
  payrecon serve -config F                 receive notifications into the ledger
  payrecon check-config -config F [-live [-send-test-alert]]
                                           validate a config and its key files; -live proves each
                                           credential with a harmless call
  payrecon trades -config F [-account A] [-date YYYY-MM-DD] [-state S] [-json]
                                           list the ledger's trades
  payrecon reconcile -config F [-account A] [-date YYYY-MM-DD] [-dry-run] [-backfill]
                                           download, diff, query, repair, write the workbook now
  payrecon import-bill -config F -account A -date D [-backfill] FILE
                                           reconcile a bill downloaded by hand (zip, csv or gz)
  payrecon runs -config F [-n N] [-json]   reconciliation history
  payrecon orders import -config F -account A FILE
                                           register expected orders for the same-day sweep (CSV)
  payrecon events -config F [-status pending|delivered|failed] [-account A] [-json]
                                           events forwarded to the merchant's app
  payrecon events replay -config F ID… | -since TIME
                                           send events again (a running serve delivers them)
  payrecon review list|show|requery|resolve -config F …
                                           settle open items by hand, audited (see payrecon review -h)
  payrecon backup -config F -o FILE        a consistent, checked copy of the live ledger
  payrecon quarantine -config F [-account A] [-since 1h] [-reason R] [-json] | -id N
                                           rejected notifications (read-only; works while serve runs)
  payrecon migrate -config F               apply pending migrations, print the schema version
  payrecon copy-ledger -from SQLITE_PATH -to POSTGRES_URL|env:NAME
                                           move a ledger into an empty PostgreSQL database
  payrecon sandbox init -dir D             write sandbox keys and a config
  payrecon sandbox receive -listen ADDR -secret-file F [-fail N] [-delay D]
                                           a merchant app that verifies and prints each event
  payrecon sandbox serve -dir D [-listen ADDR] [-date D] [-notify URL]
                                           run the provider emulator (and deliver a day's callbacks)
  payrecon sandbox trigger -config F [-url U] [-list] [scenario…]
                                           fire signed notifications at a running payrecon
  payrecon demo [-clean] [-keep]           sandbox + payrecon in a temp dir, end to end (-keep: leave the console up)
  payrecon bench-intake [flags]            measure intake throughput
  payrecon bench-reconcile [-rows N]       measure parse + diff and the workbook on a large day
  payrecon version
`

// errUsage is returned for a command line that cannot be run.
var errUsage = errors.New("usage")

// run is the whole program; main only supplies the process's context,
// arguments, environment and output. Asking for help (-h) is not an error.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	if err := dispatch(ctx, args[0], args[1:], getenv, stdout, stderr); !errors.Is(err, flag.ErrHelp) {
		return err
	}
	return nil
}

// dispatch runs one command.
func dispatch(ctx context.Context, cmd string, rest []string, getenv func(string) string, stdout, stderr io.Writer) error {
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest, getenv, stdout, stderr)
	case "check-config":
		return cmdCheckConfig(ctx, rest, getenv, stdout, stderr)
	case "trades":
		return cmdTrades(ctx, rest, getenv, stdout, stderr)
	case "sandbox":
		return cmdSandbox(ctx, rest, getenv, stdout, stderr)
	case "reconcile":
		return cmdReconcile(ctx, rest, getenv, stdout, stderr)
	case "import-bill":
		return cmdImportBill(ctx, rest, getenv, stdout, stderr)
	case "runs":
		return cmdRuns(ctx, rest, getenv, stdout, stderr)
	case "orders":
		return cmdOrders(ctx, rest, getenv, stdout, stderr)
	case "events":
		return cmdEvents(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		return cmdMigrate(ctx, rest, getenv, stdout, stderr)
	case "copy-ledger":
		return cmdCopyLedger(ctx, rest, getenv, stdout, stderr)
	case "review":
		return cmdReview(ctx, rest, getenv, stdout, stderr)
	case "backup":
		return cmdBackup(ctx, rest, getenv, stdout, stderr)
	case "quarantine":
		return cmdQuarantine(ctx, rest, getenv, stdout, stderr)
	case "demo":
		return cmdDemo(ctx, rest, getenv, stdout, stderr)
	case "bench-intake":
		return cmdBenchIntake(ctx, rest, getenv, stdout, stderr)
	case "bench-reconcile":
		return cmdBenchReconcile(ctx, rest, getenv, stdout, stderr)
	case bench.ChildCommand:
		return cmdBenchReconcileChild(ctx, rest, stdout)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, "payrecon", version)
		return nil
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("payrecon "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// readConfig reads and validates the config named by -config without
// loading keys (for commands that only read the ledger).
func readConfig(path string) (config.Config, error) {
	if path == "" {
		return config.Config{}, fmt.Errorf("%w: -config is required", errUsage)
	}
	return config.Read(path)
}

// loadConfig reads and validates the config and loads every key.
func loadConfig(path string, getenv func(string) string) (config.Config, []Account, error) {
	cfg, err := readConfig(path)
	if err != nil {
		return config.Config{}, nil, err
	}
	accts, err := loadKeys(path, &cfg, getenv)
	return cfg, accts, err
}

// loadKeys loads every account's keys and checks the forwarding secrets of
// a config already read from path, then applies its memory limit.
func loadKeys(path string, cfg *config.Config, getenv func(string) string) ([]Account, error) {
	accts, err := loadAccounts(cfg, getenv, time.Now, provider.NewHTTPClient(10*time.Second, 60*time.Second))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if _, err := cfg.ForwardSecrets(getenv); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if cfg.MemoryLimit > 0 {
		debug.SetMemoryLimit(int64(cfg.MemoryLimit))
	}
	return accts, nil
}

// newLogger logs at level in format (text or json) to w.
func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lv slog.LevelVar
	switch strings.ToLower(level) {
	case "debug":
		lv.Set(slog.LevelDebug)
	case "warn":
		lv.Set(slog.LevelWarn)
	case "error":
		lv.Set(slog.LevelError)
	default:
		lv.Set(slog.LevelInfo)
	}
	opt := &slog.HandlerOptions{Level: &lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opt))
	}
	return slog.New(slog.NewTextHandler(w, opt))
}

func cmdCheckConfig(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("check-config", stderr)
	path := fs.String("config", "", "config file")
	live := fs.Bool("live", false, "also prove each credential with a harmless signed call (a query for a made-up order) and SMTP by logging in")
	sendTest := fs.Bool("send-test-alert", false, "with -live: send a test message to each chat robot")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := readConfig(*path)
	if err != nil {
		return err
	}
	warnings, err := cfg.CheckFiles(getenv)
	for _, w := range warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	if err != nil {
		return fmt.Errorf("config %s: %w", *path, err)
	}
	if _, err := cfg.DatabaseSource(getenv); err != nil { // env:NAME set and usable
		return fmt.Errorf("config %s: %w", *path, err)
	}
	accts, err := loadKeys(*path, &cfg, getenv) // the config file is read once; the key files a second time, to parse them
	if err != nil {
		return err
	}
	for _, a := range accts {
		fmt.Fprintf(stdout, "ok  %-20s %-10s POST /notify/%s\n", a.Config.Name, a.Provider, a.Config.Name)
	}
	for _, f := range cfg.Forward {
		fmt.Fprintf(stdout, "ok  %-20s %-10s %s\n", f.Name, "forward", f.URL)
	}
	if *live || *sendTest {
		return checkLive(ctx, cfg, accts, getenv, *sendTest, stdout)
	}
	return nil
}

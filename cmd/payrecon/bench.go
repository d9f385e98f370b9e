package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/payrecon/payrecon/bench"
	"github.com/payrecon/payrecon/store"
)

// cmdBenchIntake measures notifications per second through the real
// intake (see [bench.Intake]), started from a sandbox config.
func cmdBenchIntake(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench-intake", stderr)
	n := fs.Int("n", 20000, "notifications per run (group commit)")
	naiveN := fs.Int("naive-n", 4000, "notifications per run (naive handler)")
	conc := fs.Int("c", 64, "concurrent senders")
	providers := fs.String("providers", "alipay,wechatpay", "comma-separated: alipay, wechatpay")
	naiveToo := fs.Bool("naive", true, "also measure the naive handler")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the first run to this file (with -forward, of the first forwarding run to FILE.forward too)")
	fwd := fs.Bool("forward", true, "also measure forwarding to a loopback merchant app: throughput on vs off, and delivery latency at a paced rate")
	pacedRate := fs.Int("paced-rate", 1000, "notifications/s of the forwarding latency run")
	pacedFor := fs.Duration("paced-for", 10*time.Second, "length of the forwarding latency run")
	database := fs.String("database", "", "a postgres:// URL (or env:NAME): each run's ledger is a fresh schema there (default: a SQLite file per run)")
	replicas := fs.Int("replicas", 1, "intakes per run on one PostgreSQL ledger, the senders spread over them")
	if err := fs.Parse(args); err != nil {
		return err
	}
	pg, err := newBenchSchemas(ctx, *database, getenv)
	if err != nil {
		return fmt.Errorf("bench-intake: %w", err)
	}
	if pg == nil && *replicas > 1 {
		return errors.New("bench-intake: -replicas needs -database postgres://… (a SQLite ledger has one serve)")
	}
	opt := bench.IntakeOptions{
		N: *n, NaiveN: *naiveN, Senders: *conc, Providers: strings.Split(*providers, ","),
		Naive: *naiveToo, CPUProfile: *cpuprofile, Forward: *fwd, PacedRate: *pacedRate, PacedFor: *pacedFor, Replicas: *replicas,
		Setup: func(cfgPath string) (bench.StartFunc, error) { return benchIntakeStarter(cfgPath, getenv, pg) },
	}
	if pg != nil {
		opt.Ledger = "PostgreSQL " + store.Redact(pg.base)
		defer pg.Close()
	}
	return bench.Intake(ctx, opt, stdout)
}

// benchSchemas gives each benchmark run (one ledger path) a fresh schema
// of a PostgreSQL database, shared by the run's replicas, and drops them
// all at the end.
type benchSchemas struct {
	base    string
	admin   *sql.DB
	mu      sync.Mutex
	schemas map[string]string // ledger path -> URL
}

// newBenchSchemas connects to source (a postgres:// URL or env:NAME
// holding one), or returns nil for "".
func newBenchSchemas(ctx context.Context, source string, getenv func(string) string) (*benchSchemas, error) {
	if name, ok := strings.CutPrefix(source, "env:"); ok {
		source = getenv(name)
	}
	if source == "" {
		return nil, nil
	}
	if !store.IsPostgres(source) {
		return nil, fmt.Errorf("-database: want a postgres:// URL (got %s)", store.Redact(source))
	}
	admin, err := sql.Open("pgx", source)
	if err == nil {
		err = admin.PingContext(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("connect %s: database unreachable", store.Redact(source))
	}
	return &benchSchemas{base: source, admin: admin, schemas: map[string]string{}}, nil
}

// url returns the database URL of the run whose ledger is path, creating
// its schema on first use.
func (b *benchSchemas) url(ctx context.Context, path string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if u, ok := b.schemas[path]; ok {
		return u, nil
	}
	schema := fmt.Sprintf("payrecon_bench_%d_%d", os.Getpid(), len(b.schemas))
	if _, err := b.admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		return "", fmt.Errorf("create schema: %w", err)
	}
	u, err := url.Parse(b.base)
	if err != nil {
		return "", errors.New("parse database URL")
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	b.schemas[path] = u.String()
	return u.String(), nil
}

// Close drops the runs' schemas.
func (b *benchSchemas) Close() error {
	var errs []error
	for _, u := range b.schemas {
		pu, _ := url.Parse(u)
		_, err := b.admin.Exec(`DROP SCHEMA ` + pu.Query().Get("search_path") + ` CASCADE`)
		errs = append(errs, err)
	}
	return errors.Join(append(errs, b.admin.Close())...)
}

// benchIntakeStarter loads the config at cfgPath and returns a function
// that starts payrecon's server from it (forwarding to the config's
// forward entries, as serve does), with its ledger elsewhere: the given
// path, or with pg that path's schema.
func benchIntakeStarter(cfgPath string, getenv func(string) string, pg *benchSchemas) (bench.StartFunc, error) {
	cfg, accts, err := loadConfig(cfgPath, getenv)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, dbPath string, opt store.Options) (bench.Server, error) {
		c := cfg
		c.Database = dbPath
		if pg != nil {
			u, err := pg.url(ctx, dbPath)
			if err != nil {
				return nil, err
			}
			c.Database = u
		}
		logger := slog.New(slog.DiscardHandler)
		s, err := startServer(ctx, c, accts, opt, logger, getenv)
		if err != nil {
			return nil, err
		}
		if err := startForwarding(ctx, c, s, nil, nil, getenv, logger); err != nil {
			return nil, errors.Join(err, s.Close())
		}
		return benchServer{s}, nil
	}, nil
}

// benchServer is a [server] as the benchmark sees it.
type benchServer struct{ *server }

func (s benchServer) Trades(ctx context.Context) (int64, error) {
	c, err := s.db.Count(ctx)
	return c.Trades, err
}

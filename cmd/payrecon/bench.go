package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
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
	if err := fs.Parse(args); err != nil {
		return err
	}
	return bench.Intake(ctx, bench.IntakeOptions{
		N: *n, NaiveN: *naiveN, Senders: *conc, Providers: strings.Split(*providers, ","),
		Naive: *naiveToo, CPUProfile: *cpuprofile, Forward: *fwd, PacedRate: *pacedRate, PacedFor: *pacedFor,
		Setup: func(cfgPath string) (bench.StartFunc, error) { return benchIntakeStarter(cfgPath, getenv) },
	}, stdout)
}

// benchIntakeStarter loads the config at cfgPath and returns a function
// that starts payrecon's server from it (forwarding to the config's
// forward entries, as serve does), with its ledger elsewhere.
func benchIntakeStarter(cfgPath string, getenv func(string) string) (bench.StartFunc, error) {
	cfg, accts, err := loadConfig(cfgPath, getenv)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, dbPath string, opt store.Options) (bench.Server, error) {
		c := cfg
		c.Database = dbPath
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

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/payrecon/payrecon/admin"
	"github.com/payrecon/payrecon/config"
	"github.com/payrecon/payrecon/forward"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/notify"
	"github.com/payrecon/payrecon/store"
)

// server is a running intake: the ledger and the HTTP listener(s).
type server struct {
	db       *store.DB
	srv      *http.Server
	ln       net.Listener
	adminLn  net.Listener
	served   chan error
	cleanups []func() error
	metrics  *admin.Metrics
	ready    atomic.Bool
	rerun    dailyRerunner // the console's re-run, set by startWork
}

// AdminAddr is the admin listener's address, or "" when admin routes share
// the public listener.
func (s *server) AdminAddr() string {
	if s.adminLn == nil {
		return ""
	}
	return s.adminLn.Addr().String()
}

// Addr is the bound listen address (useful when the config says port 0).
func (s *server) Addr() string { return s.ln.Addr().String() }

// startServer opens the ledger, binds the listener and serves in the
// background. Binding happens here, so "address in use" is an error.
func startServer(ctx context.Context, cfg config.Config, accts []Account, opt store.Options, logger *slog.Logger, getenv func(string) string) (*server, error) {
	src, err := cfg.DatabaseSource(getenv)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	db, err := store.Open(ctx, src, opt, logger)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	s := &server{db: db, served: make(chan error, 1), metrics: admin.NewMetrics()}
	s.cleanups = append(s.cleanups, db.Close)
	var token []byte
	if cfg.Admin.TokenFile != "" {
		b, err := cfg.Secret("admin.token_file", cfg.Admin.TokenFile, getenv)
		if err != nil {
			return nil, errors.Join(err, s.Close())
		}
		token = []byte(strings.TrimSpace(string(b)))
	}
	reg := newRegistrar(cfg, db)
	metrics := s.metrics.Handler()
	if cfg.Admin.Listen == "" { // on the public listener, /metrics needs the admin token too
		metrics = admin.RequireToken(token, metrics)
	}
	ops, err := consoleOperators(cfg, token, getenv)
	if err != nil {
		return nil, errors.Join(err, s.Close())
	}
	cons, err := newConsole(cfg, accts, db, ops, &s.rerun, logger)
	if err != nil {
		return nil, errors.Join(err, s.Close())
	}
	s.cleanups = append(s.cleanups, cons.Close) // re-runs end before the ledger closes
	adminMux := adminRoutes(adminDeps{token: token, reportsDir: cfg.Path(cfg.Reports.Dir), accounts: accountNames(cfg),
		runs: db, orders: reg, returns: returnVerifiers(accts), events: db, metrics: metrics, console: cons.Handler()}, logger)
	s.metrics.WatchOutbox(db)
	s.metrics.WatchQuarantine(db)

	var na []notify.Account
	for _, a := range accts {
		na = append(na, notify.Account{Name: a.Config.Name, Provider: a.Provider, Verifier: a.Verifier})
	}
	h := notify.Handler(na, db, notify.Options{MaxBody: cfg.MaxBodyBytes,
		MaxPath: cfg.Limits.MaxPathBytes, MaxHeader: int(cfg.Limits.MaxHeaderBytes), Observe: s.metrics.ObserveNotification}, logger)
	publicAdmin := adminMux
	if cfg.Admin.Listen != "" {
		publicAdmin = nil
		if s.adminLn, err = net.Listen("tcp", cfg.Admin.Listen); err != nil {
			return nil, errors.Join(fmt.Errorf("serve: admin: %w", err), s.Close())
		}
		asrv := &http.Server{Handler: adminMux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
		go asrv.Serve(s.adminLn)
		s.cleanups = append(s.cleanups, func() error {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return asrv.Shutdown(sctx)
		})
	}
	s.srv = &http.Server{
		Handler:           routes(h, db, s.ready.Load, publicAdmin, logger),
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    int(cfg.Limits.MaxHeaderBytes),
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	s.ln, err = net.Listen("tcp", cfg.Listen)
	if err != nil { // close what started: the admin listener too, the ledger last
		return nil, errors.Join(fmt.Errorf("serve: %w", err), s.Close())
	}
	go func() { s.served <- s.srv.Serve(s.ln) }()
	s.cleanups = append(s.cleanups, func() error {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return s.srv.Shutdown(sctx)
	})
	return s, nil
}

// storeOptions are the ledger's options from the config.
func storeOptions(cfg config.Config) store.Options {
	return store.Options{Quarantine: store.QuarantineLimits{EntryBytes: int(cfg.Limits.QuarantineEntryBytes),
		MaxBytes: int64(cfg.Limits.QuarantineMaxBytes), MaxAge: time.Duration(cfg.Limits.QuarantineMaxAge)}}
}

// Close stops the components in reverse order of starting: HTTP first (so
// in-flight notifications finish), the ledger last.
func (s *server) Close() error {
	var errs []error
	for i := len(s.cleanups) - 1; i >= 0; i-- {
		errs = append(errs, s.cleanups[i]())
	}
	return errors.Join(errs...)
}

func cmdServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	path := fs.String("config", "", "config file")
	listen := fs.String("listen", "", "override the config's listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, accts, err := loadConfig(*path, getenv)
	if err != nil {
		return err
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	logger := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)
	src, err := cfg.DatabaseSource(getenv)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if !store.IsPostgres(src) { // replicas share a PostgreSQL ledger; a SQLite file has one serve
		unlock, err := store.Lock(src, time.Now())
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		defer unlock()
	}
	s, err := startServer(ctx, cfg, accts, storeOptions(cfg), logger, getenv)
	if err != nil {
		return err
	}
	if err := cleanLeftovers(ctx, cfg, s.db, true, logger); err != nil {
		return errors.Join(err, s.Close())
	}
	if err := s.startWork(ctx, cfg, accts, logger, getenv); err != nil {
		return errors.Join(err, s.Close())
	}
	s.ready.Store(true)
	logger.Info("serving", "addr", s.Addr(), "admin_addr", s.AdminAddr(), "accounts", len(accts), "database", store.Redact(src), "version", version)
	select {
	case <-ctx.Done():
	case err := <-s.served:
		return errors.Join(fmt.Errorf("serve: %w", err), s.Close())
	}
	logger.Info("shutting down")
	return s.Close()
}

// startWork starts what serve runs beside the intake: alerts and the
// reject monitor, forwarding, the reconciliation schedule and the sweep.
// Each is stopped (in reverse) by Close.
func (s *server) startWork(ctx context.Context, cfg config.Config, accts []Account, logger *slog.Logger, getenv func(string) string) error {
	if err := markGoLive(ctx, s.db, cfg, time.Now(), logger); err != nil {
		return err
	}
	daily, err := newDaily(cfg, accts, s.db, logger)
	if err != nil {
		return err
	}
	daily.OnRun = s.metrics.ObserveRun
	s.rerun.daily.Store(daily)
	disp, alerting, err := newDeliverer(cfg, s.db, getenv, &http.Client{Timeout: 30 * time.Second}, logger)
	if err != nil {
		return err
	}
	var alert forward.Alerter
	if disp != nil {
		disp.OnDelivery = s.metrics.ObserveDelivery
		daily.Deliver, daily.Alerts, alert = disp, alerting, disp
		s.goLoop(ctx, (&jobs.RejectMonitor{DB: s.db, Deliver: disp, Channels: alerting.Channels, Threshold: cfg.Delivery.Alerts.RejectedBurst,
			Window: time.Duration(cfg.Delivery.Alerts.RejectedWindow), Locale: cfg.Reports.Locale, Now: time.Now, Log: logger}).Run)
	}
	if err := startForwarding(ctx, cfg, s, alert, alerting.Channels, getenv, logger); err != nil {
		return err
	}
	if sched := newScheduler(cfg, daily, logger); sched != nil {
		if err := sched.Start(ctx); err != nil {
			return err
		}
		// Stop scheduling (waiting for a running job) before the HTTP
		// server and the ledger close.
		s.cleanups = append(s.cleanups, func() error {
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			return sched.Stop(sctx)
		})
		logger.Info("reconciliation scheduled", "accounts", len(sched.Specs), "catch_up_days", sched.CatchUpDays)
	}
	if cfg.Sweep.Enabled {
		s.goLoop(ctx, (&jobs.Sweeper{DB: s.db, Accounts: daily.Accounts, Tiers: cfg.Sweep.Tiers, Interval: time.Duration(cfg.Sweep.Interval), Now: time.Now, Log: logger, Leases: s.db}).Run)
	}
	return nil
}

// goLoop runs loop until Close, which cancels it and waits for it.
func (s *server) goLoop(ctx context.Context, loop func(context.Context)) {
	lctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { loop(lctx); close(done) }()
	s.cleanups = append(s.cleanups, func() error { stop(); <-done; return nil })
}

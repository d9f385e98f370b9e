package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/notify"
	"github.com/payrecon/payrecon/store"
)

// server is a running intake: the ledger and the HTTP listener.
type server struct {
	db       *store.DB
	srv      *http.Server
	ln       net.Listener
	served   chan error
	cleanups []func() error
}

// Addr is the bound listen address (useful when the config says port 0).
func (s *server) Addr() string { return s.ln.Addr().String() }

// startServer opens the ledger, binds the listener and serves in the
// background. Binding happens here, so "address in use" is an error.
func startServer(ctx context.Context, cfg Config, accts []Account, opt store.Options, logger *slog.Logger) (*server, error) {
	db, err := store.Open(ctx, cfg.Path(cfg.Database), opt, logger)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	s := &server{db: db, served: make(chan error, 1)}
	s.cleanups = append(s.cleanups, db.Close)

	var na []notify.Account
	for _, a := range accts {
		n := notify.Account{Name: a.Config.Name, Provider: a.Provider}
		switch a.Provider {
		case payrecon.Alipay:
			n.Verifier = notify.AlipayVerifier{V: a.Alipay}
		case payrecon.WeChatPay:
			n.Verifier = a.WeChat
		}
		na = append(na, n)
	}
	h := notify.Handler(na, db, notify.Options{MaxBody: cfg.MaxBodyBytes}, logger)
	s.srv = &http.Server{
		Handler:           routes(h, db, logger),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	s.ln, err = net.Listen("tcp", cfg.Listen)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("serve: %w", err)
	}
	go func() { s.served <- s.srv.Serve(s.ln) }()
	s.cleanups = append(s.cleanups, func() error {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return s.srv.Shutdown(sctx)
	})
	return s, nil
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
	logger := newLogger(stderr, cfg.LogLevel)
	s, err := startServer(ctx, cfg, accts, store.Options{}, logger)
	if err != nil {
		return err
	}
	daily, err := newDaily(cfg, accts, s.db, logger)
	if err != nil {
		s.Close()
		return err
	}
	if sched := newScheduler(cfg, daily, logger); sched != nil {
		if err := sched.Start(ctx); err != nil {
			s.Close()
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
	logger.Info("serving", "addr", s.Addr(), "accounts", len(accts), "database", cfg.Path(cfg.Database), "version", version)
	select {
	case <-ctx.Done():
	case err := <-s.served:
		s.Close()
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("shutting down")
	return s.Close()
}

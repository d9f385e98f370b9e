package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/payrecon/payrecon/config"
	"github.com/payrecon/payrecon/demo"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/store"
)

// cmdDemo runs the guided tour (see package demo) against payrecon as
// serve wires it.
func cmdDemo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", stderr)
	clean := fs.Bool("clean", false, "remove the demo directory at the end")
	trades := fs.Int("trades", 40, "trades per provider in the business day")
	keep := fs.Bool("keep", false, "leave payrecon and its ops console up after the tour, until Ctrl-C")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return demo.Run(ctx, demoSystem{getenv}, demo.Options{Trades: *trades, Clean: *clean, Keep: *keep}, stdout)
}

// demoSystem starts payrecon for the demo exactly as serve does.
type demoSystem struct{ getenv func(string) string }

func (s demoSystem) Start(ctx context.Context, cfgPath string, logger *slog.Logger) (demo.Instance, error) {
	cfg, accts, err := loadConfig(cfgPath, s.getenv)
	if err != nil {
		return nil, err
	}
	srv, err := startServer(ctx, cfg, accts, store.Options{}, logger, s.getenv)
	if err != nil {
		return nil, err
	}
	if err := startForwarding(ctx, cfg, srv, nil, nil, s.getenv, logger); err != nil {
		return nil, errors.Join(err, srv.Close())
	}
	cfg.Listen = srv.Addr()
	return &demoInstance{server: srv, cfg: cfg, accts: accts, getenv: s.getenv, logger: logger}, nil
}

// demoInstance is a started server with the config and keys it runs with.
type demoInstance struct {
	*server
	cfg    config.Config
	accts  []Account
	getenv func(string) string
	logger *slog.Logger
}

func (i *demoInstance) Ledger() *store.DB     { return i.db }
func (i *demoInstance) Config() config.Config { return i.cfg }

func (i *demoInstance) Daily(change func(*config.Config)) (*jobs.Daily, error) {
	cfg := i.cfg
	cfg.Accounts = slices.Clone(cfg.Accounts)
	change(&cfg)
	accts := slices.Clone(i.accts)
	for k := range accts {
		accts[k].Config = cfg.Accounts[k]
	}
	daily, err := newDaily(cfg, accts, i.db, i.logger)
	if err != nil {
		return nil, err
	}
	disp, alerting, err := newDeliverer(cfg, i.db, i.getenv, &http.Client{Timeout: 10 * time.Second}, i.logger)
	if err != nil {
		return nil, err
	}
	daily.Deliver, daily.Alerts = disp, alerting
	return daily, nil
}

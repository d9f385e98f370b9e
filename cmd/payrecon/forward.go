package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/config"
	"github.com/payrecon/payrecon/forward"
	"github.com/payrecon/payrecon/store"
)

// forwardEndpoints reads each forward entry's secret and builds its
// endpoint; every problem names its field.
func forwardEndpoints(cfg config.Config, getenv func(string) string) ([]forward.Endpoint, []payrecon.Endpoint, error) {
	keys, err := cfg.ForwardSecrets(getenv)
	if err != nil {
		return nil, nil, err
	}
	var eps []forward.Endpoint
	var known []payrecon.Endpoint
	for i, f := range cfg.Forward {
		s, err := forward.NewSigner(keys[i])
		if err != nil {
			return nil, nil, config.FieldErr(fmt.Sprintf("forward[%d].secret_file", i), "%v", err)
		}
		eps = append(eps, forward.Endpoint{Name: f.Name, URL: f.URL, Signer: s, Timeout: f.TimeoutOrDefault(), Schedule: f.Schedule()})
		known = append(known, payrecon.Endpoint{Name: f.Name, Accounts: f.Accounts})
	}
	return eps, known, nil
}

// startForwarding makes the config's forward entries the outbox's
// endpoints and, when there are any, runs the delivery worker until the
// server closes. It never blocks intake: the worker only reads the outbox
// and records attempts.
func startForwarding(ctx context.Context, cfg config.Config, s *server, alert forward.Alerter, channels []string, getenv func(string) string, logger *slog.Logger) error {
	eps, known, err := forwardEndpoints(cfg, getenv)
	if err != nil {
		return err
	}
	if err := s.db.SyncEndpoints(ctx, known); err != nil {
		return err
	}
	if len(eps) == 0 {
		return nil
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 32
	w := &forward.Worker{DB: s.db, Endpoints: eps, HTTP: &http.Client{Transport: tr}, Alert: alert, AlertChannels: channels, Locale: cfg.Reports.Locale,
		Now: time.Now, Log: logger.With("component", "forward"), OnAttempt: s.metrics.ObserveForward}
	wctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { w.Run(wctx); close(done) }()
	s.cleanups = append(s.cleanups, func() error { stop(); <-done; return nil })
	logger.Info("forwarding events", "endpoints", len(eps))
	return nil
}

// syncEndpoints makes the config's forward entries the outbox's endpoints
// (for commands that queue events without running the worker).
func syncEndpoints(ctx context.Context, cfg config.Config, db *store.DB) error {
	known := make([]payrecon.Endpoint, 0, len(cfg.Forward))
	for _, f := range cfg.Forward {
		known = append(known, payrecon.Endpoint{Name: f.Name, Accounts: f.Accounts})
	}
	return db.SyncEndpoints(ctx, known)
}

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/config"
	"github.com/payrecon/payrecon/console"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/store"
)

// consoleOperators are who may sign in to the console: "admin" with the
// admin token, and each configured operator with theirs.
func consoleOperators(cfg config.Config, adminToken []byte, getenv func(string) string) ([]console.Operator, error) {
	var ops []console.Operator
	if len(adminToken) > 0 {
		ops = append(ops, console.Operator{Name: "admin", Token: adminToken})
	}
	for i, op := range cfg.Admin.Operators {
		b, err := cfg.Secret(fmt.Sprintf("admin.operators[%d].token_file", i), op.TokenFile, getenv)
		if err != nil {
			return nil, err
		}
		tok := []byte(strings.TrimSpace(string(b)))
		if len(tok) < 16 {
			return nil, config.FieldErr(fmt.Sprintf("admin.operators[%d].token_file", i), "the token is shorter than 16 characters")
		}
		ops = append(ops, console.Operator{Name: op.Name, Token: tok})
	}
	return ops, nil
}

// newConsole builds the console (its handler is mounted at /console/ with
// the admin routes; Close ends its re-runs).
func newConsole(cfg config.Config, accts []Account, db *store.DB, ops []console.Operator, rerun console.Rerunner, logger *slog.Logger) (*console.Console, error) {
	c, err := console.New(newReviewService(cfg, accts, db), db, rerun, console.Options{Operators: ops, Accounts: accountNames(cfg),
		ReportsDir: cfg.Path(cfg.Reports.Dir), Locale: cfg.Reports.Locale, Forwarding: len(cfg.Forward) > 0, Now: time.Now}, logger)
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	return c, nil
}

// dailyRerunner re-runs a day through the daily job once serve has
// started it.
type dailyRerunner struct{ daily atomic.Pointer[jobs.Daily] }

// Rerun runs the daily job for (account, day) now.
func (r *dailyRerunner) Rerun(ctx context.Context, account string, day payrecon.Day) error {
	d := r.daily.Load()
	if d == nil {
		return errors.New("re-run: the daily job is not started yet")
	}
	_, err := d.Run(ctx, account, day, jobs.RunOptions{Trigger: "console"})
	return err
}

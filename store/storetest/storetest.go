// Package storetest opens real ledger files for tests.
package storetest

import (
	"database/sql"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/payrecon/payrecon/store"
)

// Logger returns a logger that writes through t.Log.
func Logger(tb testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tlogWriter{tb}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tlogWriter struct{ tb testing.TB }

func (w tlogWriter) Write(p []byte) (int, error) {
	w.tb.Helper()
	w.tb.Log(string(p))
	return len(p), nil
}

// MustOpen opens a fresh ledger file in tb.TempDir and closes it at cleanup.
func MustOpen(tb testing.TB, opt store.Options) *store.DB {
	tb.Helper()
	db, err := store.Open(tb.Context(), filepath.Join(tb.TempDir(), "ledger.db"), opt, Logger(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Error(err)
		}
	})
	return db
}

// FailOrderInsert makes the ledger file at path refuse to insert the
// expected order outTradeNo, as a failing disk or constraint would, so
// tests can prove a batch is all-or-nothing.
func FailOrderInsert(tb testing.TB, path, outTradeNo string) {
	tb.Helper()
	raw, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	if err != nil {
		tb.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.ExecContext(tb.Context(), `CREATE TRIGGER fail_order BEFORE INSERT ON expected_orders
		WHEN NEW.out_trade_no = '`+strings.ReplaceAll(outTradeNo, "'", "''")+`' BEGIN SELECT RAISE(ABORT, 'injected failure'); END`); err != nil {
		tb.Fatal(err)
	}
}

// Must returns v, and panics (which fails the running test with its stack)
// when the ledger call that produced it failed: an assertion on a value read
// with an error would prove nothing.
func Must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// Package storetest opens real ledger files for tests.
package storetest

import (
	"log/slog"
	"path/filepath"
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

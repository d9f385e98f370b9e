package store_test

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/payrecon/payrecon/store"
)

// TestLedgerDirNotWritable: Open and Lock on a ledger whose directory is a
// file say the directory is not writable, and why, and create nothing.
func TestLedgerDirNotWritable(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "var"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "var", "ledger.db")
	_, err := store.Open(t.Context(), path, store.Options{}, slog.New(slog.DiscardHandler))
	if !errors.Is(err, store.ErrNotWritable) || !errors.Is(err, syscall.ENOTDIR) || !strings.Contains(err.Error(), "ledger directory "+filepath.Join(dir, "var")+" is not writable: not a directory") {
		t.Errorf("open: %v", err)
	}
	if _, err := store.Lock(path, time.Now()); !errors.Is(err, store.ErrNotWritable) {
		t.Errorf("lock: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("created %v", ents)
	}
}

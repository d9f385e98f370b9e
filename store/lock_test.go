package store_test

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon/store"
)

func TestLockIsExclusive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "var", "ledger.db")
	release, err := store.Lock(path, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	_, err = store.Lock(path, time.Now())
	if !errors.Is(err, store.ErrInUse) || !strings.Contains(err.Error(), "is in use by pid ") || !strings.Contains(err.Error(), " since ") {
		t.Fatalf("second lock: %v", err)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	again, err := store.Lock(path, time.Now())
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	again()
}

// TestLedgerNotWorldReadable: a new ledger and its WAL are readable by
// their owner only.
func TestLedgerNotWorldReadable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "var", "ledger.db")
	db, err := store.Open(t.Context(), path, store.Options{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.CheckWritable(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", filepath.Dir(path)} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %o", p, st.Mode().Perm())
		}
	}
}

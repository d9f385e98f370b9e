package store_test

import (
	"errors"
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

package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/payrecon/payrecon/store"
)

// Sessions keeps the console's sessions.
type Sessions interface {
	CreateSession(ctx context.Context, idHash string, s store.Session, now time.Time) error
	Session(ctx context.Context, idHash string) (store.Session, error)
	DeleteSession(ctx context.Context, idHash string) error
}

// testSessions: a session reads back as kept, a second one under the same
// key is refused, creating one forgets the expired, and a deleted one is
// gone.
func testSessions(t *testing.T, db Ledger) {
	ctx := t.Context()
	s := store.Session{Operator: "li", TokenFP: "fp1", CSRF: "c1", CreatedAt: T0, ExpiresAt: T0.Add(time.Hour)}
	if err := db.CreateSession(ctx, "h1", s, T0); err != nil {
		t.Fatal(err)
	}
	if got := Must(db.Session(ctx, "h1")); got != s {
		t.Fatalf("session reads back %+v, want %+v", got, s)
	}
	if err := db.CreateSession(ctx, "h1", store.Session{Operator: "eve", CreatedAt: T0, ExpiresAt: T0.Add(time.Hour)}, T0); err == nil {
		t.Fatal("a second session under the same key was kept")
	}
	if got := Must(db.Session(ctx, "h1")); got.Operator != "li" {
		t.Fatalf("session taken over by %q", got.Operator)
	}
	later := T0.Add(2 * time.Hour)
	if err := db.CreateSession(ctx, "h2", store.Session{Operator: "admin", CreatedAt: later, ExpiresAt: later.Add(time.Hour)}, later); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Session(ctx, "h1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired session after a new sign-in: %v, want ErrNotFound", err)
	}
	if err := db.DeleteSession(ctx, "h2"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Session(ctx, "h2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted session: %v, want ErrNotFound", err)
	}
	if err := db.DeleteSession(ctx, "h2"); err != nil {
		t.Fatalf("deleting it again: %v", err)
	}
}

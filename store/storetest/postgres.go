package storetest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the PostgreSQL driver, for the schemas' housekeeping
	"github.com/payrecon/payrecon/store"
)

// PostgresEnv names the environment variable that points the tests at a
// PostgreSQL server: a postgres:// URL of a role that may create schemas
// (.ci/postgres.sh starts a throwaway cluster and prints one).
const PostgresEnv = "PAYRECON_TEST_POSTGRES"

// PostgresURL returns the URL of a fresh, empty schema in the test server
// (dropped at cleanup): the server's URL with search_path set to it. Without
// PAYRECON_TEST_POSTGRES it skips tb, saying so.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		tb.Skip(PostgresEnv + " is not set: skipping the PostgreSQL tests (.ci/postgres.sh starts a server)")
	}
	u, err := url.Parse(base)
	if err != nil || !store.IsPostgres(base) {
		tb.Fatalf("%s is not a postgres:// URL", PostgresEnv)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatal(err)
	}
	defer admin.Close()
	b := make([]byte, 6)
	rand.Read(b)
	schema := "payrecon_test_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(tb.Context(), `CREATE SCHEMA `+schema); err != nil {
		tb.Fatalf("create test schema: %v", err)
	}
	tb.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			tb.Error(err)
			return
		}
		defer admin.Close()
		if _, err := admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			tb.Errorf("drop test schema: %v", err)
		}
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// MustOpenPostgres opens a ledger in a fresh PostgreSQL schema
// ([PostgresURL]) and closes it at cleanup; it skips without a server.
func MustOpenPostgres(tb testing.TB, opt store.Options) *store.DB {
	tb.Helper()
	db, err := store.Open(tb.Context(), PostgresURL(tb), opt, Logger(tb))
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

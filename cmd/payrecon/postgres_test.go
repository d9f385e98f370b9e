package main

import (
	"bytes"
	"database/sql"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// pgPassword is put in the test URL (the test cluster trusts loopback, so
// it is accepted and ignored): no output may ever show it.
const pgPassword = "pw-s3cret-9f2"

// postgresConfig returns the PostgreSQL test URL of a fresh schema (with
// a password) and the sandbox config switched to database: env:…; the
// variable is set for this test and the children it starts.
func postgresConfig(t *testing.T) (dir, cfgPath, pgURL string) {
	u, err := url.Parse(storetest.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), pgPassword)
	pgURL = u.String()
	t.Setenv("PAYRECON_DATABASE_URL", pgURL)
	dir, cfgPath = copySandbox(t)
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	pgCfg := strings.Replace(string(b), "database: var/payrecon.db", "database: env:PAYRECON_DATABASE_URL", 1)
	if pgCfg == string(b) {
		t.Fatal("sandbox config has no database line to switch")
	}
	pgPath := filepath.Join(dir, "payrecon-pg.yaml")
	if err := os.WriteFile(pgPath, []byte(pgCfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, pgPath, pgURL
}

// runBinary runs the payrecon binary and returns its combined output,
// failing the test if the output shows the database password.
func runBinary(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), bin, args...).CombinedOutput()
	if strings.Contains(string(out), pgPassword) {
		t.Fatalf("payrecon %s printed the database password:\n%s", args[0], out)
	}
	return string(out), err
}

// TestCopyLedgerAndMigrateThroughBinary: copy-ledger moves a SQLite ledger
// into an empty PostgreSQL database, verified, and refuses to do it twice;
// migrate reports the schema; the CLI then reads the same trades and runs
// from PostgreSQL as from SQLite; a schema from a newer payrecon is refused.
func TestCopyLedgerAndMigrateThroughBinary(t *testing.T) {
	dir, pgCfg, pgURL := postgresConfig(t)
	bin := buildBinary(t)
	litePath := filepath.Join(dir, "var", "payrecon.db")
	db, err := store.Open(t.Context(), litePath, store.Options{}, storetest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	storetest.Populate(t, db, 20)
	db.Close()

	out, err := runBinary(t, bin, "copy-ledger", "-from", litePath, "-to", "env:PAYRECON_DATABASE_URL")
	if err != nil || !strings.Contains(out, "counts and sums verified") || !regexp.MustCompile(`(?m)^trades +21 +amount_fen=\d+ refunded_fen=101$`).MatchString(out) {
		t.Fatalf("copy-ledger: %v\n%s", err, out)
	}
	if out, err := runBinary(t, bin, "copy-ledger", "-from", litePath, "-to", "env:PAYRECON_DATABASE_URL"); err == nil || !strings.Contains(out, "not empty") {
		t.Fatalf("second copy-ledger: %v\n%s", err, out)
	}
	out, err = runBinary(t, bin, "migrate", "-config", pgCfg)
	if err != nil || !strings.HasPrefix(out, "schema 00") || !strings.Contains(out, "postgres://payrecon:xxxxx@127.0.0.1") {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	liteCfg := filepath.Join(dir, "payrecon.yaml")
	for _, args := range [][]string{{"trades", "-json"}, {"runs", "-json"}, {"events", "-json"}} {
		lite, err := runBinary(t, bin, append([]string{args[0], "-config", liteCfg}, args[1:]...)...)
		if err != nil {
			t.Fatalf("%v on SQLite: %v\n%s", args, err, lite)
		}
		pg, err := runBinary(t, bin, append([]string{args[0], "-config", pgCfg}, args[1:]...)...)
		if err != nil || pg != lite || len(lite) < 100 {
			t.Fatalf("%v differ:\nSQLite:\n%s\nPostgreSQL (%v):\n%s", args, lite, err, pg)
		}
	}
	raw, err := sql.Open("pgx", pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.ExecContext(t.Context(), `INSERT INTO schema_migrations VALUES ('migrations/9999_future.sql', 'x')`); err != nil {
		t.Fatal(err)
	}
	if out, err := runBinary(t, bin, "migrate", "-config", pgCfg); err == nil || !strings.Contains(out, "newer than this payrecon") {
		t.Fatalf("migrate on a newer schema: %v\n%s", err, out)
	}
}

// TestServeReplicasOnPostgres: two serve processes on one PostgreSQL
// database (no file lock between them) both answer /readyz, which writes
// through each; every sandbox scenario fired at one of them lands in the
// shared ledger, as the trigger checks.
func TestServeReplicasOnPostgres(t *testing.T) {
	_, pgCfg, _ := postgresConfig(t)
	bin := buildBinary(t)
	_, addrA, _ := startChild(t, bin, pgCfg)
	_, addrB, _ := startChild(t, bin, pgCfg)
	for _, addr := range []string{addrA, addrB} {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("readyz on %s: %d %s", addr, resp.StatusCode, body)
		}
	}
	getenv := func(k string) string { return os.Getenv(k) }
	var out bytes.Buffer
	if err := run(t.Context(), []string{"sandbox", "trigger", "-config", pgCfg, "-url", "http://" + addrB}, getenv, &out, io.Discard); err != nil {
		t.Fatalf("trigger: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "expectations met") || strings.Contains(out.String(), pgPassword) {
		t.Fatalf("trigger output:\n%s", out.String())
	}
}

// TestCheckConfigDatabaseEnv: check-config fails, naming the variable, when
// database: env:NAME names an empty variable.
func TestCheckConfigDatabaseEnv(t *testing.T) {
	_, cfgPath := copySandbox(t)
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, []byte(strings.Replace(string(b), "database: var/payrecon.db", "database: env:PAYRECON_DATABASE_URL", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	err = run(t.Context(), []string{"check-config", "-config", cfgPath}, noenv, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "database: environment variable PAYRECON_DATABASE_URL is empty") {
		t.Fatalf("check-config = %v", err)
	}
}

package config

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestDatabaseSource: the database is a path (relative to the config), a
// postgres:// URL, or env:NAME holding either; no error shows the value,
// which may carry a password.
func TestDatabaseSource(t *testing.T) {
	env := map[string]string{
		"PG":    "postgres://payrecon:pw-s3cret@db.internal/ledger?sslmode=verify-full",
		"PATH1": "/var/lib/payrecon/payrecon.db",
		"MYSQL": "mysql://payrecon:pw-s3cret@db.internal/ledger",
		"DSN":   "host=db.internal dbname=ledger user=payrecon password='pw s3cret'",
	}
	getenv := func(k string) string { return env[k] }
	for _, tc := range []struct{ value, want, wantErr string }{
		{"var/payrecon.db", "<dir>/var/payrecon.db", ""},
		{env["PG"], env["PG"], ""},
		{"postgresql://db.internal/ledger", "postgresql://db.internal/ledger", ""},
		{"env:PG", env["PG"], ""},
		{"env:PATH1", env["PATH1"], ""},
		{"host=db.internal dbname=ledger sslmode=verify-full", "host=db.internal dbname=ledger sslmode=verify-full", ""},
		{"env:DSN", env["DSN"], ""},
		{"env:UNSET", "", "database: environment variable UNSET is empty"},
		{"env:MYSQL", "", "environment variable MYSQL holds neither a postgres:// URL nor a file path"},
	} {
		cfg, err := readConfigText(t, strings.Replace(minimalConfig, "database: var/payrecon.db", "database: "+tc.value, 1))
		if err != nil {
			t.Fatalf("%s: %v", tc.value, err)
		}
		got, err := cfg.DatabaseSource(getenv)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "s3cret") {
				t.Errorf("%s: %q, %v; want an error %q without the value", tc.value, got, err, tc.wantErr)
			}
			continue
		}
		want := tc.want
		if rel, ok := strings.CutPrefix(want, "<dir>/"); ok {
			want = filepath.Join(cfg.dir, rel)
		}
		if err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", tc.value, got, err, want)
		}
	}
}

// TestDatabaseValidation: a URL of another scheme, an empty env: and an
// in-memory database are config errors naming the field; a URL's
// password is never quoted back.
func TestDatabaseValidation(t *testing.T) {
	for _, tc := range []struct{ value, want string }{
		{"mysql://payrecon:pw-s3cret@db/ledger", "database: want a file path, a postgres:// URL or env:NAME (got a URL of another scheme)"},
		{`"env:"`, "database: env: needs a variable name"},
		{`":memory:"`, `database: want a file path, a postgres:// URL or env:NAME (got ":memory:")`},
		{"postgres://payrecon:pw-s3cret@[::1/ledger", "database: unparsable postgres:// URL"},
	} {
		_, err := readConfigText(t, strings.Replace(minimalConfig, "database: var/payrecon.db", "database: "+tc.value, 1))
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: %v; want %q without the password", tc.value, err, tc.want)
		}
	}
}

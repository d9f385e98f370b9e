package store_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// TestIsPostgres: URLs of both schemes and libpq keyword/value strings name
// PostgreSQL; paths (even with '=' or spaces in them) name SQLite files.
func TestIsPostgres(t *testing.T) {
	for _, tc := range []struct {
		source string
		want   bool
	}{
		{"postgres://payrecon@db/ledger", true},
		{"postgresql://payrecon@db/ledger?sslmode=require", true},
		{"host=db dbname=ledger user=payrecon", true},
		{"  dbname = ledger  password='a b\\'c' ", true},
		{"service=payrecon", true},
		{"sslmode=disable", false}, // names no database or server
		{"ledger.db", false},
		{"/var/lib/payrecon/payrecon.db", false},
		{"/data/host=db.db", false},
		{"host=db.db", true},
		{"my ledger.db", false},
		{"host='unterminated", false},
		{"", false},
		{"file:ledger.db?_journal_mode=WAL", false},
	} {
		if got := store.IsPostgres(tc.source); got != tc.want {
			t.Errorf("IsPostgres(%q) = %v, want %v", tc.source, got, tc.want)
		}
	}
}

// TestRedact: a password (and sslpassword, sslkey, passfile) is replaced in
// URLs of both schemes and in keyword/value strings, quoted or bare; the
// rest stays readable; a path is unchanged.
func TestRedact(t *testing.T) {
	for _, tc := range []struct{ source, want string }{
		{"postgres://payrecon:s3cret@db:5432/ledger?sslmode=require", "postgres://payrecon:xxxxx@db:5432/ledger?sslmode=require"},
		{"postgresql://payrecon:s3cret@db/ledger?sslpassword=s3cret", "postgresql://payrecon:xxxxx@db/ledger?sslpassword=xxxxx"},
		{"host=db dbname=ledger user=payrecon password=s3cret sslmode=require", "host=db dbname=ledger user=payrecon password=xxxxx sslmode=require"},
		{"host=db password = 'a s3cret \\' here' dbname=ledger", "host=db password=xxxxx dbname=ledger"},
		{"host=db sslkey=/etc/s3cret.key sslpassword=s3cret", "host=db sslkey=xxxxx sslpassword=xxxxx"},
		{"/var/lib/payrecon/payrecon.db", "/var/lib/payrecon/payrecon.db"},
	} {
		got := store.Redact(tc.source)
		if got != tc.want || strings.Contains(got, "s3cret") {
			t.Errorf("Redact(%q) = %q, want %q", tc.source, got, tc.want)
		}
	}
}

// TestKeywordDSNNeverShowsPassword: opening an unreachable or malformed
// keyword/value database fails without the password in the error.
func TestKeywordDSNNeverShowsPassword(t *testing.T) {
	for _, dsn := range []string{
		"host=127.0.0.1 port=1 dbname=ledger user=payrecon password=s3cret-pw sslmode=disable connect_timeout=2",
		"host=127.0.0.1 dbname=ledger user=payrecon password='s3cret pw' sslmode=nonsense",
	} {
		_, err := store.Open(t.Context(), dsn, store.Options{}, storetest.Logger(t))
		if err == nil {
			t.Fatalf("open %s succeeded", store.Redact(dsn))
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Fatalf("error shows the password: %v", err)
		}
	}
}

// TestOpenKeywordDSNPostgres: a keyword/value string opens the same
// PostgreSQL ledger as the URL it is written from.
func TestOpenKeywordDSNPostgres(t *testing.T) {
	u, err := url.Parse(storetest.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	dsn := "host=" + u.Hostname() + " port=" + u.Port() + " user=" + u.User.Username() + " dbname=" + strings.TrimPrefix(u.Path, "/") +
		" password='not used \\' by trust' sslmode=disable search_path=" + u.Query().Get("search_path")
	if !store.IsPostgres(dsn) {
		t.Fatalf("IsPostgres(%q) = false", store.Redact(dsn))
	}
	db, err := store.Open(t.Context(), dsn, store.Options{}, storetest.Logger(t))
	if err != nil {
		t.Fatalf("open %s: %v", store.Redact(dsn), err)
	}
	defer db.Close()
	storetest.Record(t, db, storetest.Pay("k1", "o1", 100))
	if tr := storetest.Trade(t, db, "o1"); tr.AmountFen != 100 {
		t.Fatalf("trade %+v", tr)
	}
	again, err := store.Open(t.Context(), u.String(), store.Options{}, storetest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if tr := storetest.Trade(t, again, "o1"); tr.AmountFen != 100 {
		t.Fatalf("through the URL: trade %+v", tr)
	}
}

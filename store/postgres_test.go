package store_test

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// TestLedgerPostgres runs the conformance suite on PostgreSQL, each
// behaviour in a fresh schema (PAYRECON_TEST_POSTGRES; skipped without it).
func TestLedgerPostgres(t *testing.T) {
	storetest.PostgresURL(t) // skip the whole suite at once without a server
	storetest.TestLedger(t, func(t *testing.T) storetest.Ledger { return storetest.MustOpenPostgres(t, store.Options{}) })
}

func TestQuarantineCapPostgres(t *testing.T) { testQuarantineCap(t, storetest.MustOpenPostgres) }

func TestQuarantineEntryCapPostgres(t *testing.T) {
	testQuarantineEntryCap(t, storetest.MustOpenPostgres)
}

func openURL(t *testing.T, url string) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), url, store.Options{}, storetest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestPostgresReplicasForwardOnly: two ledgers on one database (two
// replicas) record the same notifications, and stale closes and pendings
// of the same trades, all at once: each notification is one fact however
// many times and wherever it lands, every trade ends PAID, and each trade
// has one payment event, in a gap-free seq order.
func TestPostgresReplicasForwardOnly(t *testing.T) {
	url := storetest.PostgresURL(t)
	replicas := []*store.DB{openURL(t, url), openURL(t, url)}
	const trades = 40
	var wg sync.WaitGroup
	errs := make(chan error, trades*4)
	for i := range trades * 4 {
		wg.Go(func() {
			k := i / 4
			n := pay(fmt.Sprint("k", k), fmt.Sprint("o", k), 100) // twice: i%4 == 0 and 1
			switch i % 4 {
			case 2:
				n = pay(fmt.Sprint("c", k), fmt.Sprint("o", k), 100)
				n.Event.Kind, n.Event.Status = payrecon.EventClose, payrecon.StatusClosed
			case 3:
				n = pay(fmt.Sprint("w", k), fmt.Sprint("o", k), 100)
				n.Event.Kind, n.Event.Status = payrecon.EventPending, payrecon.StatusPending
			}
			_, err := replicas[i%2].RecordNotification(t.Context(), payrecon.RawNotification{ReceivedAt: t0}, n)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	c := storetest.Must(replicas[0].Count(t.Context()))
	if c.Trades != trades || c.Notifications != trades*3 || c.Deliveries != trades*4 {
		t.Fatalf("counts %+v, want %d trades, %d notifications, %d deliveries", c, trades, trades*3, trades*4)
	}
	for _, tr := range storetest.Must(replicas[1].Trades(t.Context(), store.TradeFilter{Account: "ali"})) {
		if tr.Status != payrecon.StatusPaid {
			t.Errorf("%s is %s: a stale message moved it back", tr.OutTradeNo, tr.Status)
		}
	}
	evs := storetest.Events(t, replicas[0])
	paid := map[string]int{}
	for i, ev := range evs {
		if i > 0 && ev.Seq <= evs[i-1].Seq {
			t.Fatalf("event seq %d after %d", ev.Seq, evs[i-1].Seq)
		}
		if ev.Type == payrecon.PaymentSucceeded {
			paid[ev.ID]++
		}
	}
	if len(paid) != trades {
		t.Fatalf("%d payment events for %d trades", len(paid), trades)
	}
}

// TestSchemaNewerRefused: a database migrated by a newer payrecon (a
// migration this binary does not know) is refused at open, on both
// backends, and left as it was.
func TestSchemaNewerRefused(t *testing.T) {
	for _, b := range []struct{ name, driver string }{{"sqlite", "sqlite3"}, {"postgres", "pgx"}} {
		t.Run(b.name, func(t *testing.T) {
			source := filepath.Join(t.TempDir(), "ledger.db")
			if b.driver == "pgx" {
				source = storetest.PostgresURL(t)
			}
			db := openURL(t, source)
			want := storetest.Must(db.SchemaVersion(t.Context()))
			db.Close()
			raw, err := sql.Open(b.driver, source)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			if _, err := raw.ExecContext(t.Context(), `INSERT INTO schema_migrations (name, applied_at) VALUES ('migrations/9999_future.sql', 'x')`); err != nil {
				t.Fatal(err)
			}
			_, err = store.Open(t.Context(), source, store.Options{}, storetest.Logger(t))
			if !errors.Is(err, store.ErrSchemaNewer) || !strings.Contains(err.Error(), "9999_future") {
				t.Fatalf("open = %v, want ErrSchemaNewer naming the unknown migration", err)
			}
			if _, err := raw.ExecContext(t.Context(), `DELETE FROM schema_migrations WHERE name = 'migrations/9999_future.sql'`); err != nil {
				t.Fatal(err)
			}
			if got := storetest.Must(openURL(t, source).SchemaVersion(t.Context())); got != want || !strings.HasPrefix(got, "00") {
				t.Fatalf("schema version %q after reopening, want %q", got, want)
			}
		})
	}
}

// TestPostgresURLPasswordNeverShown: a database password appears in no
// error, whether the URL cannot be parsed or the server cannot be reached.
func TestPostgresURLPasswordNeverShown(t *testing.T) {
	for _, url := range []string{
		"postgres://payrecon:s3cret-pw@127.0.0.1:1/ledger?sslmode=disable&connect_timeout=2",
		"postgres://payrecon:s3cret-pw@127.0.0.1:1/ledger?sslmode=nonsense",
		"postgres://payrecon:s3cret-pw@[::1/ledger",
	} {
		_, err := store.Open(t.Context(), url, store.Options{}, storetest.Logger(t))
		if err == nil {
			t.Fatalf("open %s succeeded", store.Redact(url))
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Fatalf("error shows the password: %v", err)
		}
		if r := store.Redact(url); strings.Contains(r, "s3cret") {
			t.Fatalf("Redact kept the password: %s", r)
		}
	}
}

package store_test

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

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

// TestCopyLedger: a SQLite ledger with one of everything copies into an
// empty PostgreSQL ledger that then reads the same through every view,
// takes new writes after the copied ids, and refuses a second copy.
func TestCopyLedger(t *testing.T) {
	url := storetest.PostgresURL(t)
	src := storetest.MustOpen(t, store.Options{})
	storetest.Populate(t, src, 50)
	dst := openURL(t, url)
	tables, err := store.CopyLedger(t.Context(), src, dst)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, ct := range tables {
		t.Logf("copied %-17s %4d rows %v", ct.Name, ct.Rows, ct.Sums)
	}
	for _, view := range []struct {
		name string
		read func(db *store.DB) (any, error)
	}{
		{"counts", func(db *store.DB) (any, error) { return db.Count(ctx) }},
		{"trades", func(db *store.DB) (any, error) { return db.Trades(ctx, store.TradeFilter{}) }},
		{"refunds", func(db *store.DB) (any, error) { return db.Refunds(ctx, "") }},
		{"audit", func(db *store.DB) (any, error) { return db.Audit(ctx, "ali") }},
		{"runs", func(db *store.DB) (any, error) { return db.Runs(ctx, 10) }},
		{"discrepancies", func(db *store.DB) (any, error) { return db.Discrepancies(ctx, "ali", storetest.Day) }},
		{"events", func(db *store.DB) (any, error) { return db.Events(ctx, store.EventFilter{}) }},
		{"quarantine", func(db *store.DB) (any, error) { return db.QuarantineRows(ctx, 10) }},
		{"quarantine usage", func(db *store.DB) (any, error) { return db.QuarantineUsage(ctx) }},
		{"orders", func(db *store.DB) (any, error) { return db.DueOrders(ctx, t0.Add(time.Hour), 10) }},
		{"ledger events", func(db *store.DB) (any, error) { return db.LedgerEvents(ctx, "ali", "o1") }},
	} {
		a, b := storetest.Must(view.read(src)), storetest.Must(view.read(dst))
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s differ:\nSQLite     %+v\nPostgreSQL %+v", view.name, a, b)
		}
	}
	var sum payrecon.Fen
	for _, tr := range storetest.Must(src.Trades(ctx, store.TradeFilter{})) {
		sum += tr.AmountFen
	}
	var reported bool
	for _, ct := range tables {
		if ct.Name == "trades" {
			reported = ct.Rows == 51 && ct.Sums["amount_fen"] == int64(sum)
		}
	}
	if !reported || sum == 0 {
		t.Errorf("report %+v, want 51 trades summing to %d", tables, sum)
	}
	// New rows take ids after the copied ones (a reused id would collide).
	if rec := record(t, dst, pay("after-copy", "o-new", 1)); rec.ID <= 50 {
		t.Errorf("new notification id %d: copied ids are reused", rec.ID)
	}
	before := storetest.Must(dst.Count(ctx))
	if _, err := store.CopyLedger(ctx, src, dst); !errors.Is(err, store.ErrTargetNotEmpty) {
		t.Fatalf("second copy = %v, want ErrTargetNotEmpty", err)
	}
	if after := storetest.Must(dst.Count(ctx)); after != before {
		t.Fatalf("refused copy changed the target: %+v → %+v", before, after)
	}
}

// TestClaimDeliveriesAcrossReplicas: two replicas' workers claiming the
// outbox at once each get distinct deliveries, every stream's head once
// and never the event behind it; a claim ends when its attempt is recorded
// and lapses after the lease when it is not (its worker died).
func TestClaimDeliveriesAcrossReplicas(t *testing.T) {
	url := storetest.PostgresURL(t)
	replicas := []*store.DB{openURL(t, url), openURL(t, url)}
	if err := replicas[0].SyncEndpoints(t.Context(), []payrecon.Endpoint{{Name: "app"}}); err != nil {
		t.Fatal(err)
	}
	const streams = 30
	for i := range streams {
		record(t, replicas[0], pay(fmt.Sprint("k", i), fmt.Sprint("o", i), 1000))
	}
	record(t, replicas[1], storetest.AlipayRefund("r", "o0", "R0", 10, false, t0)) // behind o0's payment
	now, lease := time.Now(), time.Minute
	var mu sync.Mutex
	claimed := map[int64]int{}
	var heads []payrecon.Delivery
	var wg sync.WaitGroup
	for _, db := range replicas {
		wg.Go(func() {
			for range 50 {
				ds, err := db.ClaimDeliveries(t.Context(), now, nil, 4, lease)
				if err != nil {
					t.Error(err)
					return
				}
				if len(ds) == 0 {
					return
				}
				mu.Lock()
				for _, d := range ds {
					claimed[d.Seq]++
					heads = append(heads, d)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(claimed) != streams || len(heads) != streams {
		t.Fatalf("claimed %d deliveries (%d distinct), want the %d stream heads once each", len(heads), len(claimed), streams)
	}
	if again := storetest.Must(replicas[1].ClaimDeliveries(t.Context(), now, nil, 100, lease)); len(again) != 0 {
		t.Fatalf("claimed again during the lease: %+v", again)
	}
	var o0 payrecon.Delivery
	for _, d := range heads {
		if strings.HasSuffix(d.Stream, "/o0") {
			o0 = d
		}
	}
	if err := replicas[0].RecordAttempt(t.Context(), payrecon.Attempt{Endpoint: o0.Endpoint, Seq: o0.Seq, Status: payrecon.DeliveryDelivered, At: now}); err != nil {
		t.Fatal(err)
	}
	next := storetest.Must(replicas[1].ClaimDeliveries(t.Context(), now, nil, 100, lease))
	if len(next) != 1 || next[0].Stream != o0.Stream || next[0].Seq <= o0.Seq {
		t.Fatalf("after o0's head was delivered: %+v, want its refund event alone", next)
	}
	lapsed := storetest.Must(replicas[0].ClaimDeliveries(t.Context(), now.Add(lease+time.Second), nil, 100, lease))
	if len(lapsed) != streams {
		t.Fatalf("after the lease: %d deliveries claimable, want %d (the %d unrecorded heads and o0's next)", len(lapsed), streams, streams-1)
	}
}

// TestQuarantineHostileTextPostgres: a rejected request's account, method
// and detail may hold NUL and invalid UTF-8 (PostgreSQL text refuses both):
// it is still quarantined, readable, with its body kept byte for byte.
func TestQuarantineHostileTextPostgres(t *testing.T) {
	db := storetest.MustOpenPostgres(t, store.Options{})
	body := []byte("sign=\x00\xff\xfe")
	err := db.Quarantine(t.Context(), payrecon.Rejected{ReceivedAt: t0, Account: "shop\xff\x00", Provider: "alipay", Reason: "bad_signature",
		Detail: "bad \x00 \xc3\x28", Method: "PO\x00ST", RemoteAddr: "127.0.0.1:1", Body: body, BodySize: int64(len(body))})
	if err != nil {
		t.Fatal(err)
	}
	rows := storetest.Must(db.QuarantineRows(t.Context(), 10))
	if len(rows) != 1 || string(rows[0].Body) != string(body) || rows[0].Account != "shop\uFFFD\u2400" || rows[0].Method != "PO\u2400ST" {
		t.Fatalf("quarantined %+v", rows)
	}
}

// TestBackupPostgresRefused: payrecon backup on a PostgreSQL ledger says to
// use PostgreSQL's tools and writes nothing.
func TestBackupPostgresRefused(t *testing.T) {
	db := storetest.MustOpenPostgres(t, store.Options{})
	dest := filepath.Join(t.TempDir(), "copy.db")
	if err := db.Backup(t.Context(), dest); !errors.Is(err, store.ErrPostgresBackup) {
		t.Fatalf("backup = %v, want ErrPostgresBackup", err)
	}
	if _, err := os.Stat(dest); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("backup left %s: %v", dest, err)
	}
}

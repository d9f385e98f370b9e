package forward_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/forward"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// TestTwoWorkersOnePostgresOutbox: two replicas' workers, each on its own
// connection to one PostgreSQL ledger, deliver a burst of events (some
// retried) to one app: every event arrives, none twice as a success, and
// each trade's events arrive in order.
func TestTwoWorkersOnePostgresOutbox(t *testing.T) {
	url := storetest.PostgresURL(t)
	var dbs []*store.DB
	for range 2 {
		db, err := store.Open(t.Context(), url, store.Options{}, storetest.Logger(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs = append(dbs, db)
	}
	if err := dbs[0].SyncEndpoints(t.Context(), []payrecon.Endpoint{{Name: "app"}}); err != nil {
		t.Fatal(err)
	}
	rc := &receiver{status: func(n int) int {
		if n%7 == 0 {
			return http.StatusServiceUnavailable // retried
		}
		return http.StatusNoContent
	}}
	srv := rc.start(t)
	const trades = 40
	for i := range trades {
		storetest.Record(t, dbs[i%2], storetest.Pay(fmt.Sprint("k", i), fmt.Sprint("o", i), 100))
		if i%4 == 0 { // a second event behind the first
			storetest.Record(t, dbs[i%2], storetest.AlipayRefund(fmt.Sprint("r", i), fmt.Sprint("o", i), fmt.Sprint("R", i), 10, false, storetest.T0))
		}
	}
	want := trades + trades/4
	// A generous attempt timeout: an attempt that times out client-side
	// after the app took it is retried, an honest duplicate this test
	// would count against the claims.
	patient := func(w *forward.Worker) {
		w.HTTP = &http.Client{Timeout: 30 * time.Second}
		w.Endpoints[0].Timeout = 20 * time.Second
	}
	run(t, dbs[0], srv.URL, &alerts{}, patient)
	run(t, dbs[1], srv.URL, &alerts{}, patient)
	for i := 0; status(t, dbs[0], payrecon.DeliveryDelivered) != want; i++ { // up to 30 s on a loaded machine
		if i == 3000 {
			t.Fatalf("%d of %d events delivered after 30 s", status(t, dbs[0], payrecon.DeliveryDelivered), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // a duplicate would arrive now
	ok := map[string]int{}
	last := map[string]time.Time{}
	for i, r := range rc.snapshot() {
		if r.ok && (i+1)%7 != 0 { // answered 2xx
			ok[r.id]++
		}
		if r.at.Before(last[r.stream]) {
			t.Errorf("trade %s: deliveries out of order", r.stream)
		}
		last[r.stream] = r.at
	}
	for id, n := range ok {
		if n > 1 {
			t.Errorf("event %s received %d times", id, n)
		}
	}
	if len(ok) != want {
		t.Fatalf("received %d distinct events, want %d", len(ok), want)
	}
}

package forward_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/forward"
	"github.com/payrecon/payrecon/reports/deliver"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// received is one delivery as the receiver saw it.
type received struct {
	id, stream string
	at         time.Time
	ok         bool
}

// receiver is a merchant app on 127.0.0.1 that verifies every delivery
// and answers status(n) to the n-th request (1-based).
type receiver struct {
	mu     sync.Mutex
	got    []received
	status func(n int) int
}

func (rc *receiver) start(t *testing.T) *httptest.Server {
	signer, err := forward.NewSigner(testKey)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ok := signer.Verify(r.Header, body) == nil
		rc.mu.Lock()
		stream := ""
		if i := strings.Index(string(body), `"out_trade_no":"`); i >= 0 {
			stream = strings.SplitN(string(body)[i+16:], `"`, 2)[0]
		}
		rc.got = append(rc.got, received{id: r.Header.Get(forward.HeaderID), stream: stream, at: time.Now(), ok: ok})
		n := len(rc.got)
		rc.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		code := http.StatusNoContent
		if rc.status != nil {
			code = rc.status(n)
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func (rc *receiver) snapshot() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// alerts records the alerts sent.
type alerts struct {
	mu    sync.Mutex
	keys  []string
	texts []string
}

func (a *alerts) Send(_ context.Context, m deliver.Message, _ ...string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.keys = append(a.keys, m.Key)
	a.texts = append(a.texts, m.Title+"\n"+m.Text)
	return nil
}

func (a *alerts) get() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.keys...)
}

// open opens a ledger whose outbox has the endpoint "app".
func open(t *testing.T) *store.DB {
	db := storetest.MustOpen(t, store.Options{})
	if err := db.SyncEndpoints(t.Context(), []payrecon.Endpoint{{Name: "app"}}); err != nil {
		t.Fatal(err)
	}
	return db
}

// run starts a worker on db for an endpoint at url and stops it at cleanup.
func run(t *testing.T, db *store.DB, url string, al *alerts, mod func(*forward.Worker)) {
	t.Helper()
	signer, _ := forward.NewSigner(testKey)
	w := &forward.Worker{DB: db, HTTP: &http.Client{Timeout: 5 * time.Second}, Poll: 5 * time.Millisecond,
		Endpoints: []forward.Endpoint{{Name: "app", URL: url, Signer: signer, Timeout: time.Second,
			Schedule: []time.Duration{20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond}}},
		MaxAge: 10 * 365 * 24 * time.Hour, // the suite's facts happen at storetest.T0
		Alert:  al, AlertChannels: []string{"ops"}, Jitter: func(d time.Duration) time.Duration { return d }, Log: storetest.Logger(t)}
	if mod != nil {
		mod(w)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 500 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func status(t *testing.T, db *store.DB, st payrecon.DeliveryStatus) int {
	evs, err := db.Events(t.Context(), store.EventFilter{Status: st})
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

// TestRetrySameID: a receiver that fails the first 3 attempts gets the
// same webhook-id a 4th time, after the schedule's waits, and the event is
// delivered once.
func TestRetrySameID(t *testing.T) {
	db := open(t)
	rc := &receiver{status: func(n int) int {
		if n <= 3 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	}}
	srv := rc.start(t)
	storetest.Record(t, db, storetest.Pay("k1", "o1", 100))
	run(t, db, srv.URL, &alerts{}, nil)
	waitFor(t, "delivery", func() bool { return status(t, db, payrecon.DeliveryDelivered) == 1 })
	got := rc.snapshot()
	if len(got) != 4 {
		t.Fatalf("%d requests, want 4", len(got))
	}
	for i, r := range got {
		if r.id != got[0].id || !r.ok || !strings.HasPrefix(r.id, "evt_") {
			t.Fatalf("request %d: %+v", i, r)
		}
	}
	for i, want := range []time.Duration{20, 40, 80} {
		if gap := got[i+1].at.Sub(got[i].at); gap < want*time.Millisecond {
			t.Fatalf("retry %d after %s, want at least %dms", i+1, gap, want)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(rc.snapshot()); n != 4 {
		t.Fatalf("%d requests after delivery", n)
	}
}

// TestOrderPerTrade: a refund never overtakes its trade's payment, even
// while the payment is being retried; other trades go meanwhile.
func TestOrderPerTrade(t *testing.T) {
	db := open(t)
	rc := &receiver{status: func(n int) int {
		if n <= 2 {
			return http.StatusInternalServerError // the first two deliveries fail
		}
		return http.StatusOK
	}}
	srv := rc.start(t)
	storetest.Record(t, db, storetest.AlipayRefund("r1", "o1", "R1", 300, false, storetest.T0)) // payment.succeeded, refund.succeeded of o1
	storetest.Record(t, db, storetest.AlipayRefund("r2", "o1", "R2", 500, false, storetest.T0.Add(time.Hour)))
	for _, o := range []string{"o2", "o3", "o4"} {
		storetest.Record(t, db, storetest.Pay("p"+o, o, 100))
	}
	run(t, db, srv.URL, &alerts{}, nil)
	waitFor(t, "all delivered", func() bool { return status(t, db, payrecon.DeliveryDelivered) == 6 })
	evs, err := db.Events(t.Context(), store.EventFilter{})
	if err != nil || len(evs) != 6 {
		t.Fatalf("events: %d, %v", len(evs), err)
	}
	order := map[string]int{}
	for i, e := range evs {
		order[e.ID] = i
	}
	last := map[string]int{}
	delivered := map[string]bool{}
	for _, r := range rc.snapshot() {
		if p, ok := last[r.stream]; ok && order[r.id] < p {
			t.Fatalf("event %s of %s sent after a later one", r.id, r.stream)
		}
		last[r.stream] = order[r.id]
		delivered[r.id] = true
	}
	if len(delivered) != 6 {
		t.Fatalf("%d distinct events received", len(delivered))
	}
}

// TestGoneDisables: 410 disables the endpoint with an alert; nothing more
// is sent to it until a replay.
func TestGoneDisables(t *testing.T) {
	db := open(t)
	rc := &receiver{status: func(int) int { return http.StatusGone }}
	srv := rc.start(t)
	al := &alerts{}
	storetest.Record(t, db, storetest.Pay("k1", "o1", 100))
	storetest.Record(t, db, storetest.Pay("k2", "o2", 100))
	run(t, db, srv.URL, al, nil)
	waitFor(t, "the alert", func() bool { return len(al.get()) > 0 })
	time.Sleep(150 * time.Millisecond)
	if n := len(rc.snapshot()); n < 1 || n > 2 {
		t.Fatalf("%d requests to a gone endpoint", n)
	}
	if k := al.get(); k[0] != "forward-gone:app" {
		t.Fatalf("alerts %v", k)
	}
	if n := status(t, db, payrecon.DeliveryPending); n != 2 {
		t.Fatalf("%d pending, want both", n)
	}
}

// TestFailedAfterMaxAge: an event older than MaxAge whose attempt fails is
// failed, with an alert, and not tried again.
func TestFailedAfterMaxAge(t *testing.T) {
	db := open(t)
	rc := &receiver{status: func(int) int { return http.StatusBadGateway }}
	srv := rc.start(t)
	al := &alerts{}
	storetest.Record(t, db, storetest.Pay("k1", "o1", 100)) // written at T0
	clock := func() time.Time { return time.Now().Add(0) }
	run(t, db, srv.URL, al, func(w *forward.Worker) {
		w.Now = clock
		w.MaxAge = time.Since(storetest.T0) + 100*time.Millisecond
	})
	waitFor(t, "failed", func() bool { return status(t, db, payrecon.DeliveryFailed) == 1 })
	// The alert follows the failed status's commit: wait for it too.
	waitFor(t, "the failed alert", func() bool { return len(al.get()) > 0 })
	if k := al.get(); len(k) != 1 || !strings.HasPrefix(k[0], "forward-failed:app:") {
		t.Fatalf("alerts %v", k)
	}
	// The alert says what to do, in the report's locale (zh by default).
	al.mu.Lock()
	text := al.texts[0]
	al.mu.Unlock()
	for _, want := range []string{"payrecon 紧急：转发到 app 的事件", "未被 app 接收", "payrecon events replay -config"} {
		if !strings.Contains(text, want) {
			t.Errorf("failed alert lacks %q:\n%s", want, text)
		}
	}
	n := len(rc.snapshot())
	time.Sleep(150 * time.Millisecond)
	if len(rc.snapshot()) != n {
		t.Fatal("a failed event was tried again")
	}
}

// TestSignature: a delivery verifies under its secret, not under another,
// nor with a changed body.
func TestSignature(t *testing.T) {
	s, _ := forward.NewSigner(testKey)
	other, _ := forward.NewSigner([]byte("another-secret-of-24-bytes!!"))
	h := http.Header{}
	body := []byte(`{"id":"evt_1"}`)
	if err := s.Sign(h, "evt_1", time.Now(), body); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h.Get(forward.HeaderSignature), "v1,") || h.Get(forward.HeaderID) != "evt_1" {
		t.Fatalf("headers %v", h)
	}
	if err := s.Verify(h, body); err != nil {
		t.Fatal(err)
	}
	if err := other.Verify(h, body); err == nil {
		t.Fatal("verified under another secret")
	}
	if err := s.Verify(h, []byte(`{"id":"evt_2"}`)); err == nil {
		t.Fatal("verified a changed body")
	}
}

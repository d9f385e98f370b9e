//go:build unix

package forward_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/forward"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// BenchmarkWorkerDrain measures how fast the worker drains a full outbox
// (one event per trade, so every event is its lane's head) in a real
// SQLite file to a receiver on loopback that verifies every signature:
// b.N events, reported as events/s and as the process's CPU time per
// event (worker, SQLite and receiver together; steadier than the rate
// on a shared machine). The outbox is filled before the timer starts.
func BenchmarkWorkerDrain(b *testing.B) {
	db := storetest.MustOpen(b, store.Options{})
	if err := db.SyncEndpoints(b.Context(), []payrecon.Endpoint{{Name: "app"}}); err != nil {
		b.Fatal(err)
	}
	fill(b, db, b.N)
	signer, err := forward.NewSigner(testKey)
	if err != nil {
		b.Fatal(err)
	}
	var bad atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if signer.Verify(r.Header, body) != nil {
			bad.Add(1)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	var delivered atomic.Int64
	done := make(chan struct{})
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	w := &forward.Worker{DB: db, HTTP: &http.Client{Transport: tr},
		Endpoints: []forward.Endpoint{{Name: "app", URL: srv.URL, Signer: signer, Timeout: 10 * time.Second}},
		MaxAge:    10 * 365 * 24 * time.Hour,
		OnAttempt: func(_, result string, _ time.Duration) {
			if result == forward.ResultDelivered && delivered.Add(1) == int64(b.N) {
				close(done)
			}
		}}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	cpu0 := cpuTime(b)
	b.ResetTimer()
	go func() { w.Run(ctx); close(stopped) }()
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		b.Errorf("%d of %d delivered", delivered.Load(), b.N)
	}
	b.StopTimer()
	cpu := cpuTime(b) - cpu0
	cancel()
	<-stopped
	if n := bad.Load(); n > 0 {
		b.Fatalf("%d deliveries failed verification", n)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/event")
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// fill records n payments of n trades, 32 at a time (group commit).
func fill(b *testing.B, db *store.DB, n int) {
	b.Helper()
	var wg sync.WaitGroup
	var next atomic.Int64
	errs := make(chan error, 32)
	for range 32 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				p := storetest.Pay(fmt.Sprintf("k%d", i), fmt.Sprintf("o%d", i), 100)
				raw := payrecon.RawNotification{Body: []byte("body"), ReceivedAt: storetest.T0}
				if _, err := db.RecordNotification(context.Background(), raw, p); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
}

package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/store"
)

// appRecorder counts the distinct events a loopback merchant app received
// and the latency of each, from the event's created_at (taken in the
// transaction that wrote it, just before its commit) to the 2xx.
type appRecorder struct {
	mu   sync.Mutex
	seen map[string]bool
	lat  []time.Duration
}

func (a *appRecorder) onEvent(ev payrecon.AppEvent, at time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.seen[ev.ID] {
		return
	}
	a.seen[ev.ID] = true
	a.lat = append(a.lat, at.Sub(ev.CreatedAt))
}

// reset forgets what was received and returns the latencies so far.
func (a *appRecorder) reset() []time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	lat := a.lat
	a.seen, a.lat = map[string]bool{}, nil
	return lat
}

func (a *appRecorder) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.lat)
}

// wait waits until n distinct events arrived or timeout passed.
func (a *appRecorder) wait(ctx context.Context, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for a.count() < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d events delivered after %s", a.count(), n, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// forwarding measures intake with forwarding on beside the same run with
// it off, then delivery latency at a paced rate, and prints both tables.
func (r *intakeRunner) forwarding(ctx context.Context, opt IntakeOptions, cfgPath string, w io.Writer) error {
	rec := &appRecorder{seen: map[string]bool{}}
	fwdPath := filepath.Join(r.dir, "payrecon-forward.yaml")
	app, err := sandbox.StartApp(cfgPath, fwdPath, sandbox.ReceiverOptions{OnEvent: rec.onEvent})
	if err != nil {
		return err
	}
	defer app.Close()
	fstart, err := opt.Setup(fwdPath)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nforwarding to a verifying merchant app on loopback (Standard Webhooks), %d notifications per run:\n", opt.N)
	fmt.Fprintf(w, "%-10s %10s %10s %7s %12s\n", "provider", "off n/s", "on n/s", "on/off", "drained in")
	for _, p := range opt.Providers {
		if err := r.forwardPair(ctx, opt, p, fstart, rec, w); err != nil {
			return fmt.Errorf("bench forwarding %s: %w", p, err)
		}
	}
	fmt.Fprintf(w, "\ndelivery latency, commit to 2xx, at a paced %d notifications/s for %s:\n", opt.PacedRate, opt.PacedFor)
	fmt.Fprintf(w, "%-10s %7s %10s %9s %9s %9s\n", "provider", "n", "sent n/s", "p50", "p99", "max")
	for _, p := range opt.Providers {
		if err := r.paced(ctx, opt, p, fstart, rec, w); err != nil {
			return fmt.Errorf("bench paced %s: %w", p, err)
		}
	}
	return nil
}

// forwardPair runs n notifications with forwarding off, then on, and
// prints the rates and how long delivery of every event took to finish.
func (r *intakeRunner) forwardPair(ctx context.Context, opt IntakeOptions, p string, fstart StartFunc, rec *appRecorder, w io.Writer) error {
	off, err := r.run(ctx, p, opt.N, false)
	if err != nil {
		return err
	}
	on := *r
	on.start, on.tag = fstart, "forward"
	if r.fwdprofile != "" {
		on.cpuprofile, r.fwdprofile = r.fwdprofile, "" // the first forwarding run only
	}
	var drained time.Duration
	var sendStart time.Time
	on.before = func() { rec.reset(); sendStart = time.Now() }
	on.after = func(ctx context.Context, n int) error {
		err := rec.wait(ctx, n, 2*time.Minute)
		drained = time.Since(sendStart)
		return err
	}
	res, err := on.run(ctx, p, opt.N, false)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%-10s %10.0f %10.0f %6.0f%% %12s\n", p, off.rate, res.rate, 100*res.rate/off.rate, drained.Round(time.Millisecond))
	return nil
}

// paced sends PacedRate notifications per second for PacedFor with
// forwarding on and prints the delivery latencies.
func (r *intakeRunner) paced(ctx context.Context, opt IntakeOptions, p string, fstart StartFunc, rec *appRecorder, w io.Writer) error {
	n := int(float64(opt.PacedRate) * opt.PacedFor.Seconds())
	reqs, account, err := presign(r.sb, p, n)
	if err != nil {
		return err
	}
	srv, err := fstart(ctx, filepath.Join(r.dir, "bench-"+p+"-paced.db"), store.Options{})
	if err != nil {
		return err
	}
	rec.reset()
	elapsed, err := sendPaced(ctx, "http://"+srv.Addr()+"/notify/"+account, p, reqs, r.senders, time.Second/time.Duration(opt.PacedRate))
	if err == nil {
		err = rec.wait(ctx, n, 2*time.Minute)
	}
	if err != nil {
		return errors.Join(err, srv.Close())
	}
	if err := srv.Close(); err != nil {
		return err
	}
	lat := rec.reset()
	slices.Sort(lat)
	fmt.Fprintf(w, "%-10s %7d %10.0f %9s %9s %9s\n", p, n, float64(n)/elapsed.Seconds(),
		lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)*99/100].Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))
	return nil
}

// sendPaced posts reqs on a fixed schedule (request i due at start +
// i·every), open loop, from conc senders; a sender that falls behind sends
// at once. Any request not acknowledged is an error.
func sendPaced(ctx context.Context, url, provider string, reqs []signedReq, conc int, every time.Duration) (time.Duration, error) {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc}}
	defer client.CloseIdleConnections()
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(reqs) || ctx.Err() != nil {
					return
				}
				time.Sleep(time.Until(start.Add(time.Duration(i) * every)))
				if ok, err := post(ctx, client, url, reqs[i], provider); err != nil || !ok {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		return 0, fmt.Errorf("%d of %d not acknowledged", f, len(reqs))
	}
	return time.Since(start), nil
}

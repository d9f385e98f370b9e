package forward

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/reports/deliver"
)

// Outbox is what the worker needs from the ledger. *store.DB satisfies it.
type Outbox interface {
	// DueDeliveries returns deliveries due at now, at most one per lane,
	// skipping the lanes in busy. Errors are the ledger's.
	DueDeliveries(ctx context.Context, now time.Time, busy map[string]bool, limit int) ([]payrecon.Delivery, error)
	// RecordAttempts stores attempts' outcomes in one write, all or
	// none.
	RecordAttempts(ctx context.Context, as []payrecon.Attempt) error
	// DisableEndpoint stops deliveries to an endpoint.
	DisableEndpoint(ctx context.Context, name, reason string) error
}

// Alerter sends alerts to ops (a *deliver.Dispatcher, which dedups by key).
type Alerter interface {
	Send(ctx context.Context, m deliver.Message, channels ...string) error
}

// Endpoint is one merchant-app endpoint.
type Endpoint struct {
	Name   string
	URL    string
	Signer *Signer
	// Timeout bounds one attempt.
	Timeout time.Duration
	// Schedule is the wait before each retry; after the last step, every
	// last step.
	Schedule []time.Duration
}

// The results an attempt is counted under (see [Worker.OnAttempt]).
const (
	ResultDelivered = "delivered" // 2xx
	ResultRetry     = "retry"     // anything else: tried again later
	ResultFailed    = "failed"    // retries ran out
	ResultGone      = "gone"      // 410: the endpoint is disabled
)

// Worker posts due events to their endpoints until its context ends.
type Worker struct {
	DB        Outbox
	Endpoints []Endpoint
	HTTP      *http.Client
	// Alert and AlertChannels, when set, receive the failed and gone alerts.
	Alert         Alerter
	AlertChannels []string
	// Locale (zh or en) is the language of the alerts.
	Locale string
	Now    func() time.Time
	// Poll is how often the outbox is read when idle (default 100ms), for
	// retries coming due; when DB has EventsWritten (as *store.DB does),
	// the worker also wakes after each commit that wrote events.
	Poll time.Duration
	// Concurrency caps the deliveries in flight (default 32).
	Concurrency int
	// MaxAge is how long an event is retried before it is failed
	// (default 72h).
	MaxAge time.Duration
	// Jitter spreads a retry wait (default: ±10% at random).
	Jitter func(time.Duration) time.Duration
	Log    *slog.Logger
	// OnAttempt, when set, is told each attempt's endpoint, result and, on
	// delivery, the time from the event's commit to the 2xx (for metrics).
	OnAttempt func(endpoint, result string, latency time.Duration)

	mu   sync.Mutex
	busy map[string]bool
}

func (w *Worker) defaults() {
	if w.Poll <= 0 {
		w.Poll = 100 * time.Millisecond
	}
	if w.Concurrency <= 0 {
		w.Concurrency = 32
	}
	if w.MaxAge <= 0 {
		w.MaxAge = 72 * time.Hour
	}
	if w.Now == nil {
		w.Now = time.Now
	}
	if w.Jitter == nil {
		w.Jitter = func(d time.Duration) time.Duration { return d + time.Duration((rand.Float64()-0.5)*0.2*float64(d)) }
	}
	if w.Log == nil {
		w.Log = slog.New(slog.DiscardHandler)
	}
	w.busy = map[string]bool{}
}

// outcome is a finished attempt waiting to be recorded.
type outcome struct {
	ep     *Endpoint
	d      payrecon.Delivery
	a      payrecon.Attempt
	result string
}

// eventsNotifier is an Outbox that says when events were committed.
type eventsNotifier interface {
	EventsWritten() <-chan struct{}
}

// Run delivers until ctx ends, then waits for the attempts in flight. An
// attempt cut short by shutdown is not recorded: the event is sent again,
// under the same webhook-id, after the restart.
//
// Attempts post concurrently (one per lane at most: a lane stays busy
// until its attempt is recorded, so its next event cannot overtake it);
// their outcomes are recorded in batches, one write for all the outcomes
// that finished meanwhile.
func (w *Worker) Run(ctx context.Context) {
	w.defaults()
	eps := make(map[string]*Endpoint, len(w.Endpoints))
	for i := range w.Endpoints {
		eps[w.Endpoints[i].Name] = &w.Endpoints[i]
	}
	var written <-chan struct{}
	if n, ok := w.DB.(eventsNotifier); ok {
		written = n.EventsWritten()
	}
	results := make(chan outcome, w.Concurrency)
	wake := make(chan struct{}, 1)
	var attempts, followUps sync.WaitGroup
	recorded := make(chan struct{})
	go func() { w.record(ctx, results, wake, &followUps); close(recorded) }()
	defer func() { attempts.Wait(); close(results); <-recorded; followUps.Wait() }()
	t := time.NewTicker(w.Poll)
	defer t.Stop()
	for {
		if w.dispatch(ctx, eps, &attempts, results) > 0 {
			continue // more may be due at once
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-wake:
		case <-written:
		}
	}
}

// dispatch starts an attempt for each due delivery, up to the free
// concurrency, and returns how many it started.
func (w *Worker) dispatch(ctx context.Context, eps map[string]*Endpoint, wg *sync.WaitGroup, results chan<- outcome) int {
	if ctx.Err() != nil {
		return 0
	}
	w.mu.Lock()
	free := w.Concurrency - len(w.busy)
	busy := make(map[string]bool, len(w.busy))
	for k := range w.busy {
		busy[k] = true
	}
	w.mu.Unlock()
	if free <= 0 {
		return 0
	}
	ds, err := w.due(ctx, eps, busy, free)
	if err != nil {
		if ctx.Err() == nil {
			w.Log.Warn("outbox read failed", "err", err)
		}
		return 0
	}
	started := 0
	for _, d := range ds {
		ep := eps[d.Endpoint]
		if ep == nil {
			continue // an endpoint this worker does not serve
		}
		w.mu.Lock()
		w.busy[d.Lane()] = true
		w.mu.Unlock()
		started++
		wg.Go(func() {
			if o, ok := w.attempt(ctx, ep, d); ok {
				results <- o // the recorder frees the lane
				return
			}
			w.free(d)
		})
	}
	return started
}

// claimer is an outbox that other replicas' workers may share: it claims
// the deliveries it returns for lease (*store.DB: on PostgreSQL).
type claimer interface {
	ClaimDeliveries(ctx context.Context, now time.Time, busy map[string]bool, limit int, lease time.Duration) ([]payrecon.Delivery, error)
}

// claimSlack is how much longer than its endpoint's longest attempt a
// claim lasts, for recording the outcome.
const claimSlack = 30 * time.Second

// due reads (or, from a shared outbox, claims) the deliveries to attempt.
// A claim outlasts the longest attempt, so no other worker takes a
// delivery in flight, and lapses soon after if this worker dies.
func (w *Worker) due(ctx context.Context, eps map[string]*Endpoint, busy map[string]bool, free int) ([]payrecon.Delivery, error) {
	c, ok := w.DB.(claimer)
	if !ok {
		return w.DB.DueDeliveries(ctx, w.Now(), busy, free)
	}
	lease := time.Duration(0)
	for _, ep := range eps {
		lease = max(lease, ep.Timeout)
	}
	if lease == 0 {
		lease = 5 * time.Minute // attempts without a timeout: a generous bound
	}
	return c.ClaimDeliveries(ctx, w.Now(), busy, free, lease+claimSlack)
}

func (w *Worker) free(d payrecon.Delivery) {
	w.mu.Lock()
	delete(w.busy, d.Lane())
	w.mu.Unlock()
}

// record writes the outcomes as they come, each write holding every
// outcome that finished meanwhile, then frees their lanes and wakes the
// dispatcher, until results is closed. Outcomes already sent are recorded
// even after ctx ends (the attempts happened).
func (w *Worker) record(ctx context.Context, results <-chan outcome, wake chan<- struct{}, followUps *sync.WaitGroup) {
	batch := make([]outcome, 0, w.Concurrency)
	as := make([]payrecon.Attempt, 0, w.Concurrency)
	for o := range results {
		batch = append(batch[:0], o)
	fill:
		for len(batch) < cap(batch) {
			select {
			case o, ok := <-results:
				if !ok {
					break fill
				}
				batch = append(batch, o)
			default:
				break fill
			}
		}
		as = as[:0]
		for _, o := range batch {
			as = append(as, o.a)
		}
		err := w.DB.RecordAttempts(context.WithoutCancel(ctx), as)
		if err != nil {
			w.Log.Error("record delivery attempts", "attempts", len(as), "err", err)
		}
		for _, o := range batch {
			if err == nil {
				w.report(ctx, o, followUps)
			}
			w.free(o.d)
		}
		select {
		case wake <- struct{}{}:
		default:
		}
	}
}

// attempt posts d once and returns the outcome to record; false when
// shutdown cut it short.
func (w *Worker) attempt(ctx context.Context, ep *Endpoint, d payrecon.Delivery) (outcome, bool) {
	status, err := w.post(ctx, ep, d)
	if ctx.Err() != nil {
		return outcome{}, false // shutting down: resent after the restart
	}
	now := w.Now()
	o := outcome{ep: ep, d: d, result: ResultRetry,
		a: payrecon.Attempt{Endpoint: ep.Name, Seq: d.Seq, At: now, Status: payrecon.DeliveryPending}}
	switch {
	case err == nil && status >= 200 && status < 300:
		o.a.Status, o.result = payrecon.DeliveryDelivered, ResultDelivered
	case err == nil && status == http.StatusGone:
		o.a.Error, o.result = "410 Gone", ResultGone
		o.a.NextAt = now.Add(w.wait(ep, d.Attempts+1))
	default:
		o.a.Error = fmt.Sprintf("HTTP %d", status)
		if err != nil {
			o.a.Error = err.Error()
		}
		o.a.NextAt = now.Add(w.wait(ep, d.Attempts+1))
		if now.Sub(d.CreatedAt) >= w.MaxAge {
			o.a.Status, o.result = payrecon.DeliveryFailed, ResultFailed
		}
	}
	return o, true
}

// report counts a recorded outcome, logs a failed one, and starts what a
// failure for good or a 410 calls for (alerts, disabling the endpoint)
// without holding up the recorder.
func (w *Worker) report(ctx context.Context, o outcome, followUps *sync.WaitGroup) {
	if w.OnAttempt != nil {
		var latency time.Duration
		if o.result == ResultDelivered {
			latency = o.a.At.Sub(o.d.CreatedAt)
		}
		w.OnAttempt(o.ep.Name, o.result, latency)
	}
	if o.result == ResultDelivered {
		return
	}
	log := w.Log.With("endpoint", o.ep.Name, "event_id", o.d.EventID, "attempt", o.d.Attempts+1)
	switch o.result {
	case ResultRetry:
		log.Warn("event delivery failed, will retry", "err", o.a.Error, "next_at", o.a.NextAt)
	case ResultFailed:
		log.Error("event delivery failed for good", "err", o.a.Error)
		ep, d, a := o.ep, o.d, o.a
		followUps.Go(func() {
			title, text := w.failedWords(ep.Name, d.EventID, a.Error)
			w.alert(ctx, "forward-failed:"+ep.Name+":"+a.At.UTC().Format("2006-01-02"), "critical", title, text)
		})
	case ResultGone:
		w.gone(ctx, o.ep, followUps)
	}
}

// gone disables an endpoint that answered 410 (before the lane is freed,
// so nothing more is dispatched to it) and tells ops in the background.
func (w *Worker) gone(ctx context.Context, ep *Endpoint, followUps *sync.WaitGroup) {
	if err := w.DB.DisableEndpoint(context.WithoutCancel(ctx), ep.Name, "410 Gone"); err != nil {
		w.Log.Error("disable endpoint", "endpoint", ep.Name, "err", err)
	}
	w.Log.Error("endpoint answered 410 Gone: disabled", "endpoint", ep.Name)
	followUps.Go(func() {
		title, text := w.goneWords(ep.Name)
		w.alert(ctx, "forward-gone:"+ep.Name, "critical", title, text)
	})
}

func (w *Worker) alert(ctx context.Context, key, severity, title, text string) {
	if w.Alert == nil || len(w.AlertChannels) == 0 {
		return
	}
	m := deliver.Message{Key: key, Severity: severity, Title: title, Text: text, Locale: w.Locale}
	if err := w.Alert.Send(context.WithoutCancel(ctx), m, w.AlertChannels...); err != nil {
		w.Log.Warn("alert not delivered", "key", key, "err", err)
	}
}

// wait is the jittered wait before retry n (1-based).
func (w *Worker) wait(ep *Endpoint, n int) time.Duration {
	s := ep.Schedule
	if len(s) == 0 {
		return w.Jitter(time.Minute)
	}
	return w.Jitter(s[min(n, len(s))-1])
}

// post sends d to ep once and returns the HTTP status. The error never
// holds the secret or the body.
func (w *Worker) post(ctx context.Context, ep *Endpoint, d payrecon.Delivery) (int, error) {
	if ep.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, ep.Timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(d.Body))
	if err != nil {
		return 0, fmt.Errorf("post event: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "payrecon-forward/1")
	if err := ep.Signer.Sign(req.Header, d.EventID, w.Now(), d.Body); err != nil {
		return 0, err
	}
	resp, err := w.HTTP.Do(req)
	if err != nil {
		return 0, fmt.Errorf("post event: %w", redact(err))
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

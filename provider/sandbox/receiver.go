package sandbox

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/forward"
)

// ReceiverOptions configure a [Receiver].
type ReceiverOptions struct {
	// Fail answers 503 to the first Fail deliveries.
	Fail int
	// Delay answers each accepted delivery after this long.
	Delay time.Duration
	// Out gets one line per delivery (nil: discarded).
	Out io.Writer
	// OnEvent, when set, is called with each accepted delivery's event and
	// the time its 2xx is about to be written.
	OnEvent func(ev payrecon.AppEvent, at time.Time)
}

// Receiver is the sandbox's merchant app: an http.Handler that verifies
// each forwarded delivery's Standard Webhooks signature, checks that the
// body is the event its webhook-id names, records it, and prints it. It
// can be told to fail the first N deliveries or to answer slowly.
type Receiver struct {
	signer *forward.Signer
	opt    ReceiverOptions

	mu    sync.Mutex
	seen  map[string]int // webhook-id → deliveries received
	order []payrecon.AppEvent
	calls int
}

// NewReceiver returns a receiver that verifies deliveries with signer.
func NewReceiver(signer *forward.Signer, opt ReceiverOptions) *Receiver {
	if opt.Out == nil {
		opt.Out = io.Discard
	}
	return &Receiver{signer: signer, opt: opt, seen: map[string]int{}}
}

// ServeHTTP answers 204 to a verified delivery, 401 to a bad signature,
// 400 to a body that is not the named event and 503 while told to fail.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	id := r.Header.Get(forward.HeaderID)
	if err := rc.signer.Verify(r.Header, body); err != nil {
		rc.printf("REJECTED %s: %v\n", id, err)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var ev payrecon.AppEvent
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID != id {
		rc.printf("REJECTED %s: body is not the event the webhook-id names\n", id)
		http.Error(w, "bad event", http.StatusBadRequest)
		return
	}
	if !rc.accept(ev) {
		http.Error(w, "told to fail", http.StatusServiceUnavailable)
		return
	}
	time.Sleep(rc.opt.Delay) // a slow app: outside the lock, so deliveries overlap as they would
	if rc.opt.OnEvent != nil {
		rc.opt.OnEvent(ev, time.Now())
	}
	w.WriteHeader(http.StatusNoContent)
}

// accept counts a verified delivery and records and prints it, unless the
// receiver is still told to fail.
func (rc *Receiver) accept(ev payrecon.AppEvent) bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.calls++
	if rc.calls <= rc.opt.Fail {
		fmt.Fprintf(rc.opt.Out, "FAILING  %s (%d of %d)\n", ev.ID, rc.calls, rc.opt.Fail)
		return false
	}
	rc.seen[ev.ID]++
	again := ""
	if rc.seen[ev.ID] > 1 {
		again = " (again)"
	} else {
		rc.order = append(rc.order, ev)
	}
	fmt.Fprintf(rc.opt.Out, "%-18s %s %s %s source=%s%s %s\n", ev.Type, ev.ID, ev.Account, ev.Provider, ev.Source, again, ev.Data)
	return true
}

func (rc *Receiver) printf(format string, args ...any) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	fmt.Fprintf(rc.opt.Out, format, args...)
}

// Events returns the distinct events received, in order of first receipt,
// and how often each webhook-id arrived.
func (rc *Receiver) Events() ([]payrecon.AppEvent, map[string]int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	seen := make(map[string]int, len(rc.seen))
	for k, v := range rc.seen {
		seen[k] = v
	}
	return append([]payrecon.AppEvent(nil), rc.order...), seen
}

// App is a merchant app (a [Receiver]) serving on loopback, started by
// [StartApp].
type App struct {
	*Receiver
	// URL is where it takes deliveries.
	URL string
	srv *http.Server
}

// Close stops serving.
func (a *App) Close() error { return a.srv.Close() }

// StartApp runs a [Receiver] on 127.0.0.1 under a fresh forward secret,
// which it writes to keys/forward.secret beside the config at cfgPath, and
// writes that config with a forward entry named "app" pointing at the
// receiver to outPath (which may be cfgPath).
func StartApp(cfgPath, outPath string, opt ReceiverOptions) (*App, error) {
	key := make([]byte, 32)
	rand.Read(key)
	signer, err := forward.NewSigner(key)
	if err != nil {
		return nil, err
	}
	secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
	if err := os.WriteFile(filepath.Join(filepath.Dir(cfgPath), "keys", "forward.secret"), []byte(secret+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("start app: %w", err)
	}
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		return nil, fmt.Errorf("start app: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start app: %w", err)
	}
	a := &App{Receiver: NewReceiver(signer, opt), URL: "http://" + ln.Addr().String() + "/events"}
	a.srv = &http.Server{Handler: a.Receiver, ReadHeaderTimeout: 10 * time.Second}
	go a.srv.Serve(ln)
	cfg = fmt.Appendf(cfg, "\nforward:\n  - name: app\n    url: %s\n    secret_file: keys/forward.secret\n    timeout: 5s\n    retry_schedule: [1s, 5s]\n", a.URL)
	if err := os.WriteFile(outPath, cfg, 0o600); err != nil {
		a.Close()
		return nil, fmt.Errorf("start app: %w", err)
	}
	return a, nil
}

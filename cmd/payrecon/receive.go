package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/config"
	"github.com/payrecon/payrecon/forward"
)

// receiver is the sandbox's merchant app: it verifies each delivery,
// prints it, and can be told to fail the first N deliveries or answer
// slowly.
type receiver struct {
	signer *forward.Signer
	fail   int
	delay  time.Duration
	out    io.Writer

	mu    sync.Mutex
	seen  map[string]int // webhook-id → deliveries received
	order []payrecon.AppEvent
	calls int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.calls++
	if err := rc.signer.Verify(r.Header, body); err != nil {
		fmt.Fprintf(rc.out, "REJECTED %s: %v\n", r.Header.Get(forward.HeaderID), err)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var ev payrecon.AppEvent
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID != r.Header.Get(forward.HeaderID) {
		fmt.Fprintf(rc.out, "REJECTED %s: body is not the event the webhook-id names\n", r.Header.Get(forward.HeaderID))
		http.Error(w, "bad event", http.StatusBadRequest)
		return
	}
	if rc.calls <= rc.fail {
		fmt.Fprintf(rc.out, "FAILING  %s (%d of %d)\n", ev.ID, rc.calls, rc.fail)
		http.Error(w, "told to fail", http.StatusServiceUnavailable)
		return
	}
	time.Sleep(rc.delay)
	rc.seen[ev.ID]++
	again := ""
	if rc.seen[ev.ID] > 1 {
		again = " (again)"
	} else {
		rc.order = append(rc.order, ev)
	}
	fmt.Fprintf(rc.out, "%-18s %s %s %s source=%s%s %s\n", ev.Type, ev.ID, ev.Account, ev.Provider, ev.Source, again, ev.Data)
	w.WriteHeader(http.StatusNoContent)
}

// events returns the distinct events received, in order of first receipt,
// and how often each webhook-id arrived.
func (rc *receiver) events() ([]payrecon.AppEvent, map[string]int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	seen := make(map[string]int, len(rc.seen))
	for k, v := range rc.seen {
		seen[k] = v
	}
	return append([]payrecon.AppEvent(nil), rc.order...), seen
}

// newReceiver reads the forward secret file and builds a receiver.
func newReceiver(secretFile string, fail int, delay time.Duration, out io.Writer) (*receiver, error) {
	b, err := os.ReadFile(secretFile)
	if err != nil {
		return nil, fmt.Errorf("-secret-file: %w", errors.Unwrap(err))
	}
	key, err := config.ParseForwardSecret(string(bytes.TrimSpace(b)))
	if err != nil {
		return nil, fmt.Errorf("-secret-file: %w", err)
	}
	s, err := forward.NewSigner(key)
	if err != nil {
		return nil, err
	}
	return &receiver{signer: s, fail: fail, delay: delay, out: out, seen: map[string]int{}}, nil
}

// cmdSandboxReceive runs the merchant-app receiver until ctx ends.
func cmdSandboxReceive(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sandbox receive", stderr)
	listen := fs.String("listen", "127.0.0.1:18091", "listen address")
	secretFile := fs.String("secret-file", "", "the forward secret (whsec_…) the events are signed with")
	fail := fs.Int("fail", 0, "answer 503 to the first N deliveries")
	delay := fs.Duration("delay", 0, "answer each delivery after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *secretFile == "" {
		return fmt.Errorf("%w: -secret-file is required", errUsage)
	}
	rc, err := newReceiver(*secretFile, *fail, *delay, stdout)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("sandbox receive: %w", err)
	}
	srv := &http.Server{Handler: rc, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "receiving events on http://%s/events\n", ln.Addr())
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("sandbox receive: %w", err)
	}
	return nil
}

// newForwardSecret is a fresh Standard Webhooks secret: whsec_ and the
// base64 of 32 random bytes.
func newForwardSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// addSandboxForward writes keys/forward.secret into a sandbox directory
// and a forward entry to the config pointing at the sandbox receiver.
func addSandboxForward(cfgPath, target string) error {
	dir := filepath.Dir(cfgPath)
	if err := os.WriteFile(filepath.Join(dir, "keys", "forward.secret"), []byte(newForwardSecret()+"\n"), 0o600); err != nil {
		return fmt.Errorf("sandbox init: %w", err)
	}
	f, err := os.OpenFile(cfgPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("sandbox init: %w", err)
	}
	_, err = fmt.Fprintf(f, `# Every verified payment event goes to the merchant's app; run one with
#   payrecon sandbox receive -listen %s -secret-file keys/forward.secret
forward:
  - name: sandbox-app
    url: %s
    secret_file: keys/forward.secret
    retry_schedule: [1s, 5s, 30s]
`, hostOf(target), target)
	return errors.Join(err, f.Close())
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Host
}

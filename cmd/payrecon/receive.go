package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/payrecon/payrecon/config"
	"github.com/payrecon/payrecon/forward"
	"github.com/payrecon/payrecon/provider/sandbox"
)

// newReceiver reads the forward secret file and builds the sandbox's
// merchant-app receiver.
func newReceiver(secretFile string, fail int, delay time.Duration, out io.Writer) (*sandbox.Receiver, error) {
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
	return sandbox.NewReceiver(s, sandbox.ReceiverOptions{Fail: fail, Delay: delay, Out: out}), nil
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

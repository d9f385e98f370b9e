// Package sandboxtest is the one sandbox fixture the tests share: the
// committed sandbox merchant (testdata/sandbox: keys and a config) copied
// into a private directory, the emulated provider APIs on a loopback
// server, clients and verifiers pointed at them, and a way to play a
// business day's notifications through an intake.
package sandboxtest

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/payrecon/payrecon/provider/alipay"
	"github.com/payrecon/payrecon/provider/providertest"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/provider/wechatpay"
)

// configAPI is the emulator address the committed config names; Serve
// rewrites it to the test server's.
const configAPI = "http://127.0.0.1:18090"

// Fixture is a sandbox merchant in its own directory.
type Fixture struct {
	*sandbox.Sandbox
	// Dir is a private copy of testdata/sandbox, safe to edit; Config is
	// its payrecon.yaml (the ledger path in it is relative to Dir).
	Dir, Config string
	// Server and URL are the emulated provider APIs, once Serve ran.
	Server *sandbox.Server
	URL    string
}

// New copies the sandbox merchant into tb.TempDir and loads it.
func New(tb testing.TB) *Fixture {
	tb.Helper()
	dir, cfg := Copy(tb)
	sb, err := sandbox.Load(dir)
	if err != nil {
		tb.Fatal(err)
	}
	return &Fixture{Sandbox: sb, Dir: dir, Config: cfg}
}

// Copy copies testdata/sandbox into a fresh directory and returns it and
// its config path.
func Copy(tb testing.TB) (dir, cfgPath string) {
	tb.Helper()
	src := providertest.SandboxDir(tb)
	dir = tb.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, rel), 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), b, 0o600)
	})
	if err != nil {
		tb.Fatal(err)
	}
	return dir, filepath.Join(dir, "payrecon.yaml")
}

// Serve starts the emulated provider APIs with faults and days on a
// loopback server (closed at cleanup) and points the config at it.
func (f *Fixture) Serve(tb testing.TB, faults sandbox.ServerFaults, days ...*sandbox.Day) {
	tb.Helper()
	f.Server, f.URL = Serve(tb, f.Sandbox, faults, days...)
	PointConfig(tb, f.Config, f.URL)
}

// Serve starts sb's emulated provider APIs with faults and days on a
// loopback server closed at cleanup.
func Serve(tb testing.TB, sb *sandbox.Sandbox, faults sandbox.ServerFaults, days ...*sandbox.Day) (*sandbox.Server, string) {
	tb.Helper()
	sv, err := sb.NewServer(faults)
	if err != nil {
		tb.Fatal(err)
	}
	for _, d := range days {
		sv.AddDay(d)
	}
	api := httptest.NewServer(sv)
	tb.Cleanup(api.Close)
	sv.SetBaseURL(api.URL)
	return sv, api.URL
}

// PointConfig rewrites the config at cfgPath to call the provider APIs at url.
func PointConfig(tb testing.TB, cfgPath, url string) {
	tb.Helper()
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, bytes.ReplaceAll(cfg, []byte(configAPI), []byte(url)), 0o600); err != nil {
		tb.Fatal(err)
	}
}

// Clients returns provider clients calling the served APIs.
func (f *Fixture) Clients(tb testing.TB) (*alipay.Client, *wechatpay.Client) {
	tb.Helper()
	if f.URL == "" {
		tb.Fatal("sandboxtest: Clients before Serve")
	}
	ac, wc, err := f.Sandbox.Clients(f.URL, &http.Client{Timeout: 10 * time.Second}, time.Now)
	if err != nil {
		tb.Fatal(err)
	}
	return ac, wc
}

// Play delivers the days' notifications (faults applied: dropped ones are
// absent) one at a time to the intake at baseURL and fails the test if a
// reply is not what the provider would expect.
func Play(tb testing.TB, sb *sandbox.Sandbox, client *http.Client, baseURL string, days ...*sandbox.Day) sandbox.Result {
	tb.Helper()
	var log bytes.Buffer
	res, err := sb.DeliverDays(tb.Context(), client, baseURL, &log, days...)
	if err != nil {
		tb.Fatalf("%v: %v\n%s", err, res.Unexpected, log.String())
	}
	return res
}

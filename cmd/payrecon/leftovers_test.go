package main

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/provider/sandbox/sandboxtest"
)

// TestMetricsNeedTokenOnPublicListener: without admin.listen, /metrics on
// the public notification listener is an admin route like the others: 404
// with no token configured, 401 without or with a wrong token, 200 with it.
func TestMetricsNeedTokenOnPublicListener(t *testing.T) {
	_, cfgPath := copySandbox(t)
	addr, _, stop := startServe(t, cfgPath)
	if code, b := getAuth(t, "http://"+addr+"/metrics", ""); code != http.StatusNotFound {
		t.Errorf("/metrics with no admin token configured: %d %.100s, want 404", code, b)
	}
	stop()

	token := withAdminToken(t, cfgPath)
	addr, _, _ = startServe(t, cfgPath)
	for _, tok := range []string{"", "wrong"} {
		if code, _ := getAuth(t, "http://"+addr+"/metrics", tok); code != http.StatusUnauthorized {
			t.Errorf("/metrics with token %q: %d, want 401", tok, code)
		}
	}
	if code, b := getAuth(t, "http://"+addr+"/metrics", token); code != http.StatusOK || len(b) == 0 {
		t.Errorf("/metrics with the admin token: %d, want 200 and the metrics", code)
	}
}

// TestReadOnlyLedgerDir: a ledger whose directory cannot be written is
// reported as such by the binary ("ledger directory … is not writable:
// permission denied"), for a directory of mode 0500 holding an existing
// ledger (run as an unprivileged user when the test runs as root, for
// whom the mode does not bind) and for a directory that is a file.
func TestReadOnlyLedgerDir(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	bin := buildBinary(t)
	t.Run("under a file", func(t *testing.T) {
		dir, cfgPath := copySandbox(t)
		if err := os.WriteFile(filepath.Join(dir, "var"), []byte("a file"), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(bin, "trades", "-config", cfgPath).CombinedOutput()
		want := "ledger directory " + filepath.Join(dir, "var") + " is not writable: not a directory"
		if err == nil || !strings.Contains(string(out), want) {
			t.Fatalf("%v: %s\nwant %q", err, out, want)
		}
	})
	t.Run("mode 0500", func(t *testing.T) {
		dir, cfgPath, run := unprivilegedSandbox(t, bin)
		ro := filepath.Join(dir, "var")
		if out, err := run("trades", "-config", cfgPath); err != nil { // creates the ledger
			t.Fatalf("trades: %v\n%s", err, out)
		}
		if err := os.Chmod(ro, 0o500); err != nil {
			t.Fatal(err)
		}
		want := "ledger directory " + ro + " is not writable: permission denied"
		for _, args := range [][]string{{"trades", "-config", cfgPath}, {"serve", "-config", cfgPath, "-listen", "127.0.0.1:0"}} {
			out, err := run(args...)
			if err == nil || !strings.Contains(out, want) {
				t.Errorf("%s: %v: %s\nwant %q", args[0], err, lastLines(out, 3), want)
			}
		}
	})
}

// unprivilegedSandbox copies the sandbox merchant into a directory an
// unprivileged user owns and returns a way to run the binary as that user
// (the test's own user when it is not root, for whom file modes bind
// anyway). It skips when the test is root but cannot switch users.
func unprivilegedSandbox(t *testing.T, bin string) (dir, cfgPath string, run func(args ...string) (string, error)) {
	t.Helper()
	dir, cfgPath = copySandbox(t)
	runAs := func(bin string, cred *syscall.Credential) func(args ...string) (string, error) {
		return func(args ...string) (string, error) {
			c := exec.Command(bin, args...)
			if cred != nil {
				c.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
			}
			out, err := c.CombinedOutput()
			return string(out), err
		}
	}
	if os.Geteuid() != 0 {
		return dir, cfgPath, runAs(bin, nil)
	}
	const nobody = 65534
	cred := &syscall.Credential{Uid: nobody, Gid: nobody}
	// The binary and the sandbox copy must be reachable by nobody.
	base, err := os.MkdirTemp("", "payrecon-ro-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	nbin := filepath.Join(base, "payrecon")
	b, err := os.ReadFile(bin)
	if err == nil {
		err = os.WriteFile(nbin, b, 0o755)
	}
	if err == nil {
		err = os.CopyFS(filepath.Join(base, "m"), os.DirFS(dir))
	}
	if err == nil {
		err = os.Chmod(base, 0o755)
	}
	if err == nil {
		err = filepath.WalkDir(filepath.Join(base, "m"), func(p string, _ os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, nobody, nobody)
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	run = runAs(nbin, cred)
	if out, err := run("version"); err != nil {
		t.Skipf("running as root and cannot run the binary as nobody: %v %s", err, out)
	}
	dir = filepath.Join(base, "m")
	return dir, filepath.Join(dir, "payrecon.yaml"), run
}

// TestGzipBombRefused: a WeChat Pay bill file that inflates to 256 MiB of
// zeros from about 256 KiB (served by the emulator) is refused by the
// binary's reconcile while it is decompressed, with a clear error, and
// leaves nothing in the archive, not even a temp file.
func TestGzipBombRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	bin := buildBinary(t)
	fx := sandboxtest.New(t)
	day := fx.GenerateDay(e2eDay, sandbox.DayOptions{Trades: 5, Seed: 1})
	serveProviders(t, fx.Sandbox, fx.Config, sandbox.ServerFaults{GzipBomb: 256 << 20}, day)
	start := time.Now()
	out, err := exec.Command(bin, "reconcile", "-config", fx.Config, "-account", "sandbox-wx", "-date", "2026-11-20").CombinedOutput()
	t.Logf("refused in %s", time.Since(start).Round(time.Millisecond))
	if err == nil || !strings.Contains(string(out), "bill too large when decompressed: more than 200 times its compressed size") {
		t.Fatalf("gzip bomb: %v\n%s", err, lastLines(string(out), 5))
	}
	var left []string
	filepath.WalkDir(filepath.Join(fx.Dir, "var", "bills"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			left = append(left, p)
		}
		return nil
	})
	if len(left) != 0 {
		t.Errorf("the archive keeps %v", left)
	}
}

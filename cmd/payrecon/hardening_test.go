package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/provider/sandbox/sandboxtest"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
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

// tempFiles lists the temp files of interrupted writes under dirs.
func tempFiles(dirs ...string) []string {
	var out []string
	for _, dir := range dirs {
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.Contains(p, ".tmp-") { // a temp file, or one in a temp dir
				out = append(out, p)
			}
			return nil
		})
	}
	return out
}

// runningRows counts the reconciliation and job runs still running.
func runningRows(t *testing.T, dbPath string) (runs, jobs []string) {
	t.Helper()
	db, err := store.Open(t.Context(), dbPath, store.Options{}, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rs, err := db.Runs(t.Context(), 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Status == payrecon.RunRunning {
			runs = append(runs, fmt.Sprint(r.ID))
		}
	}
	js, err := db.JobRuns(t.Context(), 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range js {
		if j.Status == payrecon.RunRunning {
			jobs = append(jobs, fmt.Sprint(j.ID))
		}
	}
	return runs, jobs
}

// TestKilledReconcileLeavesNothing kills, with SIGKILL, a `payrecon
// reconcile` while it downloads a bill from a slowed emulator (its temp
// file in the archive and its run row `running`), with a workbook temp
// file of the same process beside it (what a kill mid-workbook leaves).
// The next start, of `reconcile` or of `serve`, removes both temp files
// and records the dead run as failed ("interrupted"), which `payrecon
// runs` shows; no `running` row remains, and the reconcile reconciles the
// day.
func TestKilledReconcileLeavesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs and kills the binary")
	}
	for _, restart := range []string{"reconcile", "serve"} {
		t.Run(restart, func(t *testing.T) { testKilledReconcile(t, restart) })
	}
}

func testKilledReconcile(t *testing.T, restart string) {
	bin := buildBinary(t)
	fx := sandboxtest.New(t)
	day := fx.GenerateDay(e2eDay, sandbox.DayOptions{Trades: 5, Seed: 1})
	pristine, err := os.ReadFile(fx.Config)
	if err != nil {
		t.Fatal(err)
	}
	serveProviders(t, fx.Sandbox, fx.Config, sandbox.ServerFaults{Slow: 3 * time.Second}, day)
	bills, reports := filepath.Join(fx.Dir, "var", "bills"), filepath.Join(fx.Dir, "var", "reports")
	dbPath := filepath.Join(fx.Dir, "var", "payrecon.db")

	child := exec.Command(bin, "reconcile", "-config", fx.Config, "-account", "sandbox-wx", "-date", "2026-11-20")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(tempFiles(bills)) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	child.Process.Signal(syscall.SIGKILL)
	child.Wait()
	if len(tempFiles(bills)) == 0 {
		t.Fatal("the reconcile never started its download")
	}
	wb := filepath.Join(reports, "sandbox-wx", fmt.Sprintf(".2026-11-20.xlsx.tmp-%d-123456", child.Process.Pid))
	if err := os.MkdirAll(filepath.Dir(wb), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(wb, []byte("PK half a workbook"), 0o600); err != nil {
		t.Fatal(err)
	}
	spill := filepath.Join(reports, "sandbox-wx", fmt.Sprintf(".workbook.tmp-%d-654321", child.Process.Pid), "excelize-1")
	if err := os.MkdirAll(filepath.Dir(spill), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(spill, []byte("rows a workbook spilled"), 0o600); err != nil {
		t.Fatal(err)
	}
	if runs, _ := runningRows(t, dbPath); len(runs) != 1 {
		t.Fatalf("after the kill: running runs %v, want the killed one", runs)
	}
	t.Logf("left by the kill: %v", tempFiles(bills, reports))

	// Start again, against a prompt emulator.
	if err := os.WriteFile(fx.Config, pristine, 0o600); err != nil {
		t.Fatal(err)
	}
	serveProviders(t, fx.Sandbox, fx.Config, sandbox.ServerFaults{}, day)
	out := "MATCHED (serve reconciles nothing on start here)"
	if restart == "serve" {
		cmd, _, exited := startChild(t, bin, fx.Config) // cleans before it says it is serving
		cmd.Process.Signal(syscall.SIGTERM)
		if err := <-exited; err != nil {
			t.Fatalf("serve: %v", err)
		}
	} else {
		out = runBin(t, bin, "reconcile", "-config", fx.Config, "-account", "sandbox-wx", "-date", "2026-11-20")
	}
	if left := tempFiles(bills, reports); len(left) != 0 {
		t.Errorf("temp files left after the next start: %v", left)
	}
	if runs, jobs := runningRows(t, dbPath); len(runs)+len(jobs) != 0 {
		t.Errorf("running rows left: runs %v, jobs %v", runs, jobs)
	}
	hist := runBin(t, bin, "runs", "-config", fx.Config)
	if !strings.Contains(hist, "failed") || !strings.Contains(hist, "interrupted: the process running it died") {
		t.Errorf("payrecon runs does not show the dead run:\n%s", hist)
	}
	if !strings.Contains(out, "MISSING_LOCAL") && !strings.Contains(out, "MATCHED") {
		t.Errorf("the next reconcile did not reconcile the day:\n%s", out)
	}
	t.Logf("runs:\n%s", hist)
}

// TestRefundQueryAmountMismatch plays, through the binary, a day with a
// dropped refund callback whose refund the provider's query confirms with
// 1 fen less than the bill row: the item is resolved AMOUNT_MISMATCH (not
// RECOVERED, not a bare NEEDS_REVIEW), and the ledger takes neither
// amount: the refund is not written.
func TestRefundQueryAmountMismatch(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	fx := sandboxtest.New(t)
	day := fx.GenerateDay(e2eDay, sandbox.DayOptions{Trades: 25, Seed: 7, Faults: true})
	serveProviders(t, fx.Sandbox, fx.Config, sandbox.ServerFaults{RefundQueryDelta: -1}, day)
	addr, _, stop := startServe(t, fx.Config)
	if res, err := fx.DeliverDays(t.Context(), &http.Client{Timeout: 10 * time.Second}, "http://"+addr, io.Discard, day); err != nil {
		t.Fatalf("%v: %v", err, res.Unexpected)
	}
	stop()
	var dropped []string
	for _, tr := range day.Trades {
		for _, rf := range tr.Refunds {
			if rf.DropNotify {
				dropped = append(dropped, rf.OutRefundNo)
			}
		}
	}
	if len(dropped) == 0 {
		t.Fatal("the day has no dropped refund callback")
	}
	out := runBin(t, bin, "reconcile", "-config", fx.Config, "-date", "2026-11-20")
	db, err := store.Open(t.Context(), filepath.Join(fx.Dir, "var", "payrecon.db"), store.Options{}, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	held := map[string]bool{}
	for _, acct := range []string{"sandbox-ali", "sandbox-wx"} {
		for _, r := range storetest.Must(db.Refunds(t.Context(), acct)) {
			held[r.OutRefundNo] = true
		}
	}
	for _, no := range dropped {
		line := findLine(out, no)
		if !strings.Contains(line, "AMOUNT_MISMATCH") || strings.Contains(line, "RECOVERED") {
			t.Errorf("refund %s: %q, want resolved AMOUNT_MISMATCH\n%s", no, line, out)
		}
		if held[no] {
			t.Errorf("refund %s was written into the ledger with the provider's amount", no)
		}
		t.Logf("%s", strings.TrimSpace(line))
	}
}

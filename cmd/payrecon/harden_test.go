package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/provider/sandbox/sandboxtest"
	"github.com/payrecon/payrecon/store"
)

// rssBytes reads a process's resident set size from /proc.
func rssBytes(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// getBody GETs url with the admin token and returns the body of a 200.
func getBody(t *testing.T, url, token string) []byte {
	t.Helper()
	code, b := getAuth(t, url, token)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %.200s", url, code, b)
	}
	return b
}

// getAuth GETs url, with a bearer token unless it is "".
func getAuth(t *testing.T, url, token string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// withAdminToken configures an admin token (keys/admin.token beside the
// config) and returns it.
func withAdminToken(t *testing.T, cfgPath string) string {
	t.Helper()
	const token = "h4rden-adm1n-t0ken"
	if err := os.WriteFile(filepath.Join(filepath.Dir(cfgPath), "keys", "admin.token"), []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	appendConfig(t, cfgPath, "admin:\n  token_file: keys/admin.token\n")
	return token
}

// post sends one request and returns its status (0 when the connection
// failed, as a server may close it on an oversized request).
func post(client *http.Client, url string, hdr http.Header, body []byte) int {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return -1
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func quarantined(t *testing.T, dbPath string) int64 {
	t.Helper()
	db, err := store.Open(t.Context(), dbPath, store.Options{}, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sums, err := db.QuarantineByReason(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, s := range sums {
		n += s.Count
	}
	return n
}

// TestUnknownAccountsBoundedMemory sends, through the binary, 1,000
// notifications to 400 KiB unknown account names and 1,000 to distinct
// short unknown names: RSS and /metrics stay flat, and the oversized ones
// are refused (431) before anything is stored.
func TestUnknownAccountsBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	bin := buildBinary(t)
	fx := sandboxtest.New(t)
	token := withAdminToken(t, fx.Config)
	cmd, addr, _ := startChild(t, bin, fx.Config)
	base := "http://" + addr
	client := &http.Client{Timeout: 10 * time.Second}
	// Warm up: the runtime's first allocations are not what we measure.
	for i := range 50 {
		post(client, base+"/notify/warm"+strconv.Itoa(i), nil, []byte("x=1"))
	}
	rss0, metrics0 := rssBytes(t, cmd.Process.Pid), len(getBody(t, base+"/metrics", token))
	q0 := quarantined(t, filepath.Join(fx.Dir, "var", "payrecon.db"))

	long := strings.Repeat("a", 400<<10)
	statuses := map[string]int{}
	for i := range 1000 {
		got := post(client, base+"/notify/"+long+strconv.Itoa(i), nil, []byte("x=1"))
		statuses["long "+strconv.Itoa(got)]++
	}
	for i := range 1000 {
		got := post(client, base+"/notify/"+fmt.Sprintf("%0200d", i), nil, []byte("x=1"))
		statuses["short "+strconv.Itoa(got)]++
	}
	if statuses["long 431"]+statuses["long 0"] != 1000 || statuses["short 404"] != 1000 {
		t.Errorf("statuses %v, want 431 for the long names and 404 for the short", statuses)
	}
	rss1, metrics1 := rssBytes(t, cmd.Process.Pid), len(getBody(t, base+"/metrics", token))
	t.Logf("RSS %d KiB -> %d KiB; /metrics %d -> %d bytes", rss0>>10, rss1>>10, metrics0, metrics1)
	if rss1-rss0 > 16<<20 {
		t.Errorf("RSS grew by %d MiB", (rss1-rss0)>>20)
	}
	if metrics1-metrics0 > 4<<10 {
		t.Errorf("/metrics grew by %d bytes", metrics1-metrics0)
	}
	if q := quarantined(t, filepath.Join(fx.Dir, "var", "payrecon.db")) - q0; q != 1000 {
		t.Errorf("quarantined %d, want 1000 (the short unknown names only)", q)
	}
}

// TestNotifyRequestLimits: a path over 256 bytes is 404 and headers over
// 16 KiB are 431 on the notification listener, and neither is stored.
func TestNotifyRequestLimits(t *testing.T) {
	fx := sandboxtest.New(t)
	addr, _, stop := startServe(t, fx.Config)
	base := "http://" + addr
	client := &http.Client{Timeout: 10 * time.Second}
	bigHeader := http.Header{"X-Junk": {strings.Repeat("h", 17<<10)}}
	cases := []struct {
		name string
		path string
		hdr  http.Header
		want int
	}{
		{"path 257 bytes", "/notify/" + strings.Repeat("p", 257-len("/notify/")), nil, http.StatusNotFound},
		{"path 256 bytes, unknown", "/notify/" + strings.Repeat("p", 256-len("/notify/")), nil, http.StatusNotFound},
		{"headers 17 KiB, known account", "/notify/sandbox-ali", bigHeader, http.StatusRequestHeaderFieldsTooLarge},
		{"headers 17 KiB, unknown account", "/notify/nobody", bigHeader, http.StatusRequestHeaderFieldsTooLarge},
	}
	for _, c := range cases {
		if got := post(client, base+c.path, c.hdr, []byte("x=1")); got != c.want {
			t.Errorf("%s: status %d, want %d", c.name, got, c.want)
		}
	}
	stop()
	// Only the 256-byte path reached the intake.
	if q := quarantined(t, filepath.Join(fx.Dir, "var", "payrecon.db")); q != 1 {
		t.Errorf("quarantined %d, want 1", q)
	}
}

// appendConfig adds YAML to a config file.
func appendConfig(t *testing.T, cfgPath, yaml string) {
	t.Helper()
	f, err := os.OpenFile(cfgPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("\n" + yaml); err != nil {
		t.Fatal(err)
	}
}

func fileSizes(paths ...string) int64 {
	var n int64
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// TestQuarantineBounded sends, through the binary, 1,000 junk
// notifications with 64 KiB bodies and 12 KiB of headers: each stores at
// most 16 KiB, the quarantine stops at its cap (2 MiB here) dropping the
// oldest, the drops are counted in /metrics, and no X-Api-Key is kept.
func TestQuarantineBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	bin := buildBinary(t)
	fx := sandboxtest.New(t)
	appendConfig(t, fx.Config, "limits:\n  quarantine_max_bytes: 2MiB\n")
	token := withAdminToken(t, fx.Config)
	dbPath := filepath.Join(fx.Dir, "var", "payrecon.db")
	_, addr, _ := startChild(t, bin, fx.Config)
	size0 := fileSizes(dbPath, dbPath+"-wal")
	client := &http.Client{Timeout: 10 * time.Second}
	hdr := http.Header{"X-Api-Key": {"sekret-key"}, "X-Junk": {strings.Repeat("j", 12<<10)}, "Content-Type": {"application/x-www-form-urlencoded"}}
	body := bytes.Repeat([]byte("sign=x&"), (64<<10)/7)
	for range 1000 {
		if got := post(client, "http://"+addr+"/notify/sandbox-ali", hdr, body); got/100 != 4 {
			t.Fatalf("junk: status %d, want 4xx", got)
		}
	}
	grown := fileSizes(dbPath, dbPath+"-wal") - size0
	db, err := store.Open(t.Context(), dbPath, store.Options{}, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	u, err := db.QuarantineUsage(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.QuarantineRows(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	metrics := string(getBody(t, "http://"+addr+"/metrics", token))
	t.Logf("ledger grew %d KiB; quarantine %+v", grown>>10, u)
	if u.Bytes > 2<<20 || u.Rows+u.Dropped != 1000 || u.Dropped == 0 || u.Bytes/u.Rows > 16<<10 {
		t.Errorf("quarantine %+v: want at most 2 MiB, at most 16 KiB a row, the rest dropped", u)
	}
	if grown > 8<<20 {
		t.Errorf("ledger grew by %d MiB", grown>>20)
	}
	if rows[0].Header.Get("X-Api-Key") != "" {
		t.Error("X-Api-Key kept in quarantine")
	}
	if !strings.Contains(metrics, fmt.Sprintf("payrecon_quarantine_dropped_total %d", u.Dropped)) {
		t.Errorf("/metrics does not count %d dropped", u.Dropped)
	}
}

// TestReadyzWhenDiskFull runs the binary with a 1 MiB file-size limit (a
// full disk as SQLite sees it): once a genuine notification gets 500,
// /readyz answers 503.
func TestReadyzWhenDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Skip("no prlimit")
	}
	bin := buildBinary(t)
	fx := sandboxtest.New(t)
	wrapper := filepath.Join(t.TempDir(), "payrecon")
	script := fmt.Sprintf("#!/bin/sh\nexec %s --fsize=%d %s \"$@\"\n", prlimit, 1<<20, bin)
	if err := os.WriteFile(wrapper, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	child := exec.Command(wrapper, "serve", "-config", fx.Config, "-listen", "127.0.0.1:0")
	child.Stderr = logs
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- child.Wait() }()
	t.Cleanup(func() { child.Process.Kill(); <-exited })
	addr := waitAddr(t, logs, exited)
	client := &http.Client{Timeout: 10 * time.Second}
	if resp, err := http.Get("http://" + addr + "/readyz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz before: %v %v", resp, err)
	}
	// Send until ten in a row fail: the ledger is full, not flaky.
	failed := 0
	for round := range 40 {
		for _, r := range crashRequests(t, fx.Sandbox, round, 50) {
			if sendCrashReq(client, addr, r) {
				failed = 0
			} else {
				failed++
			}
		}
		if failed >= 10 {
			break
		}
	}
	if failed < 10 {
		t.Fatal("the ledger never filled up")
	}
	dbPath := filepath.Join(fx.Dir, "var", "payrecon.db")
	t.Logf("ledger %d bytes, WAL %d bytes", fileSizes(dbPath), fileSizes(dbPath+"-wal"))
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/readyz %d with a full disk, want 503\n%s", resp.StatusCode, lastLines(logs.String(), 10))
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(len(lines)-n, 0):], "\n")
}

// TestRejectedBillPoisonsNothing imports, through the binary, a WeChat Pay
// bill whose totals disagree for one day: it is refused and kept in the
// archive, and the next day's bill and an empty day after it reconcile as
// if the bad one had never come.
func TestRejectedBillPoisonsNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	fx := sandboxtest.New(t)
	dir, cfgPath, sb := fx.Dir, fx.Config, fx.Sandbox
	day := sb.GenerateDay(e2eDay, sandbox.DayOptions{Trades: 5, Seed: 1})
	good, bad := filepath.Join(dir, "wx.csv"), filepath.Join(dir, "bad.csv")
	var b bytes.Buffer
	sandbox.WriteWeChatBill(&b, sb.ID.WeChat.MchID, sb.ID.WeChat.AppID, day.BillRows(payrecon.WeChatPay), sandbox.BillOptions{})
	os.WriteFile(good, b.Bytes(), 0o600)
	b.Reset()
	day19 := sb.GenerateDay(e2eDay.AddDate(0, 0, -1), sandbox.DayOptions{Trades: 5, Seed: 1}) // the corrupt bill is imported for its own day
	sandbox.WriteWeChatBill(&b, sb.ID.WeChat.MchID, sb.ID.WeChat.AppID, day19.BillRows(payrecon.WeChatPay), sandbox.BillOptions{CorruptTotals: true})
	os.WriteFile(bad, b.Bytes(), 0o600)
	serveProviders(t, sb, cfgPath, sandbox.ServerFaults{})

	o, err := exec.Command(bin, "import-bill", "-config", cfgPath, "-account", "sandbox-wx", "-date", "2026-11-19", bad).CombinedOutput()
	if err == nil || !strings.Contains(string(o), "bill totals do not match its rows") {
		t.Fatalf("corrupt bill: %v\n%s", err, o)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "var", "bills", "sandbox-wx", "2026-11-19")); len(ents) != 1 {
		t.Fatalf("the rejected bill is not kept in the archive: %v", ents)
	}
	if out := runBin(t, bin, "import-bill", "-config", cfgPath, "-account", "sandbox-wx", "-date", "2026-11-20", good); !strings.Contains(out, "MISSING_LOCAL=6") {
		t.Fatalf("next day:\n%s", out)
	}
	// An empty day beside the rejected one.
	runBin(t, bin, "reconcile", "-config", cfgPath, "-account", "sandbox-wx", "-date", "2026-11-18")
}

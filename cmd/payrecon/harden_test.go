package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

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

func getBody(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
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
	cmd, addr, _ := startChild(t, bin, fx.Config)
	base := "http://" + addr
	client := &http.Client{Timeout: 10 * time.Second}
	// Warm up: the runtime's first allocations are not what we measure.
	for i := range 50 {
		post(client, base+"/notify/warm"+strconv.Itoa(i), nil, []byte("x=1"))
	}
	rss0, metrics0 := rssBytes(t, cmd.Process.Pid), len(getBody(t, base+"/metrics"))
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
	rss1, metrics1 := rssBytes(t, cmd.Process.Pid), len(getBody(t, base+"/metrics"))
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

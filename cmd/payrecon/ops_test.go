package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeOperations: /readyz, /metrics on the admin listener, and the
// token-protected admin routes.
func TestServeOperations(t *testing.T) {
	dir, cfgPath := copySandbox(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "keys", "admin.token"), []byte("adm1n-t0ken\n"), 0o600))
	cfg, err := os.ReadFile(cfgPath)
	must(err)
	cfg = []byte(strings.Replace(string(cfg), "accounts:", "admin:\n  listen: 127.0.0.1:0\n  token_file: keys/admin.token\naccounts:", 1))
	must(os.WriteFile(cfgPath, cfg, 0o600))
	// A workbook to fetch.
	must(os.MkdirAll(filepath.Join(dir, "var", "reports", "sandbox-ali"), 0o700))
	must(os.WriteFile(filepath.Join(dir, "var", "reports", "sandbox-ali", "2026-11-20.xlsx"), []byte("PK-fake-xlsx"), 0o600))

	addr, logs, stop := startServe(t, cfgPath)
	_, rest, _ := strings.Cut(logs.String(), "admin_addr=")
	admin := strings.Fields(rest)[0]

	get := func(url, token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("http://"+addr+"/readyz", ""); code != 200 {
		t.Fatalf("readyz %d", code)
	}
	// One rejected notification shows up in the metrics.
	resp, err := http.Post("http://"+addr+"/notify/sandbox-ali", "application/x-www-form-urlencoded", strings.NewReader("a=1&sign=x"))
	must(err)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Fatal("a forged notification was acknowledged")
	}
	code, body := get("http://"+admin+"/metrics", "")
	if code != 200 || !strings.Contains(body, `payrecon_notifications_total{account="sandbox-ali",reason="bad_signature",result="rejected"} 1`) {
		t.Fatalf("metrics %d:\n%.2000s", code, body)
	}
	// Admin routes are not on the public listener when admin.listen is set.
	if code, _ := get("http://"+addr+"/api/runs", "adm1n-t0ken"); code != 404 {
		t.Fatalf("public /api/runs: %d", code)
	}
	if code, _ := get("http://"+admin+"/api/runs", ""); code != 401 {
		t.Fatalf("no token: %d", code)
	}
	if code, _ := get("http://"+admin+"/api/runs", "wrong"); code != 401 {
		t.Fatalf("wrong token: %d", code)
	}
	// A fresh ledger has no runs: an empty JSON array, never null.
	if code, body := get("http://"+admin+"/api/runs", "adm1n-t0ken"); code != 200 || body != "[]\n" {
		t.Fatalf("runs on a fresh ledger: %d %q, want 200 []", code, body)
	}
	if code, body := get("http://"+admin+"/reports/sandbox-ali/2026-11-20.xlsx", "adm1n-t0ken"); code != 200 || body != "PK-fake-xlsx" {
		t.Fatalf("workbook: %d %q", code, body)
	}
	for _, bad := range []string{"/reports/sandbox-ali/..%2f..%2fpayrecon.yaml", "/reports/nobody/2026-11-20.xlsx", "/reports/sandbox-ali/2026-11-21.xlsx"} {
		if code, _ := get("http://"+admin+bad, "adm1n-t0ken"); code != 404 {
			t.Errorf("%s: %d", bad, code)
		}
	}
	stop()
}

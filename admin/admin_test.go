package admin_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/admin"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

const token = "s3cret-adm1n-t0ken"

// env is a running admin server over a real ledger file.
type env struct {
	url     string
	db      *store.DB
	dbPath  string
	reports string
	ready   atomic.Bool
	logs    *syncBuffer
}

// newEnv serves the admin handlers on 127.0.0.1, mounted as
// cmd/payrecon/routes.go mounts them, over a fresh ledger in t.TempDir().
func newEnv(t *testing.T, tok string) *env {
	t.Helper()
	e := &env{dbPath: filepath.Join(t.TempDir(), "ledger.db"), reports: t.TempDir(), logs: &syncBuffer{}}
	db, err := store.Open(t.Context(), e.dbPath, store.Options{}, storetest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e.db = db
	// Logs go to t.Log and to a buffer the tests search for secrets.
	logger := slog.New(slog.NewTextHandler(io.MultiWriter(e.logs, tlog{t}), nil))
	accounts := []string{"ali", "wx"}
	reg := jobs.NewRegistrar(db, accounts, jobs.DefaultTiers(), time.Now)
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", admin.HandleHealthz(logger, db))
	mux.Handle("GET /readyz", admin.HandleReadyz(logger, db, e.ready.Load))
	mux.Handle("GET /reports/{account}/{file}", admin.RequireToken([]byte(tok), admin.HandleWorkbook(logger, e.reports, accounts)))
	mux.Handle("GET /api/runs", admin.RequireToken([]byte(tok), admin.HandleRuns(logger, db)))
	mux.Handle("POST /api/orders", admin.RequireToken([]byte(tok), admin.HandleOrders(logger, reg)))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

// do sends a request and returns the status and body.
func (e *env) do(t *testing.T, method, path string, header http.Header, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, e.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
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
	return resp.StatusCode, resp.Header, string(b)
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

// orders lists what the ledger holds for account.
func (e *env) orders(t *testing.T, account string) []payrecon.ExpectedOrder {
	t.Helper()
	now := time.Now()
	got, err := e.db.Orders(t.Context(), account, now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// noSecret fails the test if the admin token shows in s or in the logs.
func (e *env) noSecret(t *testing.T, s string) {
	t.Helper()
	if strings.Contains(s, token) || strings.Contains(e.logs.String(), token) {
		t.Fatal("the admin token leaked into a reply or the logs")
	}
}

func TestToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, token)
	for _, tc := range []struct {
		name   string
		header http.Header
		want   int
	}{
		{"none", nil, http.StatusUnauthorized},
		{"wrong", bearer("wrong"), http.StatusUnauthorized},
		{"prefix of the token", bearer(token[:5]), http.StatusUnauthorized},
		{"not bearer", http.Header{"Authorization": {"Basic " + token}}, http.StatusUnauthorized},
		{"right", bearer(token), http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, h, body := e.do(t, http.MethodGet, "/api/runs", tc.header, "")
			if code != tc.want {
				t.Fatalf("status %d, want %d: %s", code, tc.want, body)
			}
			if code == http.StatusUnauthorized && h.Get("WWW-Authenticate") != `Bearer realm="payrecon"` {
				t.Errorf("WWW-Authenticate %q", h.Get("WWW-Authenticate"))
			}
			e.noSecret(t, body)
		})
	}
}

// TestTokenDisabled: without a configured token the admin routes are off
// (404), whatever the request carries.
func TestTokenDisabled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	for _, h := range []http.Header{nil, bearer(""), bearer(token)} {
		if code, _, body := e.do(t, http.MethodGet, "/api/runs", h, ""); code != http.StatusNotFound || !strings.Contains(body, "admin routes are disabled") {
			t.Errorf("%v: %d %q", h, code, body)
		}
	}
}

func TestWorkbook(t *testing.T) {
	t.Parallel()
	e := newEnv(t, token)
	if err := os.MkdirAll(filepath.Join(e.reports, "ali"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.reports, "ali", "2026-11-20.xlsx"), []byte("PK-fake-xlsx"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.reports, "secret.txt"), []byte("not a workbook"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, h, body := e.do(t, http.MethodGet, "/reports/ali/2026-11-20.xlsx", bearer(token), "")
	if code != 200 || body != "PK-fake-xlsx" {
		t.Fatalf("workbook: %d %q", code, body)
	}
	if ct, cd := h.Get("Content-Type"), h.Get("Content-Disposition"); ct != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" || cd != `attachment; filename="ali_2026-11-20.xlsx"` {
		t.Errorf("headers %q %q", ct, cd)
	}
	for _, path := range []string{
		"/reports/ali/..%2fsecret.txt",
		"/reports/ali/..%2f..%2fledger.db",
		"/reports/nobody/2026-11-20.xlsx", // unknown account
		"/reports/wx/2026-11-20.xlsx",     // known account, no such file
		"/reports/ali/2026-11-21.xlsx",    // no such day
		"/reports/ali/2026-11-20.xlsx.bak",
	} {
		if code, _, body := e.do(t, http.MethodGet, path, bearer(token), ""); code != http.StatusNotFound {
			t.Errorf("%s: %d %q", path, code, body)
		}
	}
	if code, _, _ := e.do(t, http.MethodGet, "/reports/ali/2026-11-20.xlsx", nil, ""); code != http.StatusUnauthorized {
		t.Errorf("without token: %d", code)
	}
}

func TestRuns(t *testing.T) {
	t.Parallel()
	e := newEnv(t, token)
	for i, day := range []string{"2026-11-18", "2026-11-19", "2026-11-20"} {
		d, _ := payrecon.ParseDay(day)
		id, err := e.db.StartRun(t.Context(), "ali", d, "schedule")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.db.FinishRun(t.Context(), id, 0, map[payrecon.Code]int{payrecon.Code("MATCHED"): i + 1}, "ali/"+day+".xlsx", nil); err != nil {
			t.Fatal(err)
		}
	}
	code, h, body := e.do(t, http.MethodGet, "/api/runs?limit=2", bearer(token), "")
	if code != 200 || h.Get("Content-Type") != "application/json" {
		t.Fatalf("runs: %d %s %q", code, h.Get("Content-Type"), body)
	}
	var runs []map[string]any
	if err := json.Unmarshal([]byte(body), &runs); err != nil {
		t.Fatalf("runs: %v in %q", err, body)
	}
	if len(runs) != 2 || runs[0]["date"] != "2026-11-20" || runs[1]["date"] != "2026-11-19" {
		t.Fatalf("limit=2 should give the two newest runs, got %s", body)
	}
	for _, k := range []string{"id", "account", "date", "started_at", "status", "trigger", "counts", "workbook", "error"} {
		if _, ok := runs[0][k]; !ok {
			t.Errorf("run has no %q: %s", k, body)
		}
	}
	if runs[0]["status"] != "ok" || runs[0]["account"] != "ali" || runs[0]["workbook"] != "ali/2026-11-20.xlsx" {
		t.Errorf("run %v", runs[0])
	}
	// Out-of-range limits fall back to the default of 50.
	for _, q := range []string{"", "?limit=0", "?limit=-3", "?limit=5000", "?limit=x"} {
		_, _, body := e.do(t, http.MethodGet, "/api/runs"+q, bearer(token), "")
		if err := json.Unmarshal([]byte(body), &runs); err != nil || len(runs) != 3 {
			t.Errorf("%q: %d runs, %v", q, len(runs), err)
		}
	}
	// A ledger that cannot be read is a 500, never an empty list.
	e.db.Close()
	if code, _, body := e.do(t, http.MethodGet, "/api/runs", bearer(token), ""); code != http.StatusInternalServerError {
		t.Errorf("closed ledger: %d %q", code, body)
	}
}

func TestOrders(t *testing.T) {
	t.Parallel()
	e := newEnv(t, token)
	post := func(body string) (int, string) {
		t.Helper()
		code, _, reply := e.do(t, http.MethodPost, "/api/orders", bearer(token), body)
		e.noSecret(t, reply)
		return code, reply
	}
	code, body := post(`{"account":"ali","out_trade_no":"O-1","amount_fen":100,"created_at":"2026-11-20T10:00:00+08:00"}`)
	if code != 200 || body != `{"already_known":0,"registered":1}`+"\n" {
		t.Fatalf("one order: %d %q", code, body)
	}
	batch := `[{"account":"ali","out_trade_no":"O-1","amount_fen":100},{"account":"wx","out_trade_no":"O-2","amount_fen":250}]`
	if code, body := post(batch); code != 200 || body != `{"already_known":1,"registered":1}`+"\n" {
		t.Fatalf("batch: %d %q", code, body)
	}
	// Registering the same orders again changes nothing.
	before := e.orders(t, "ali")
	if code, body := post(batch); code != 200 || body != `{"already_known":2,"registered":0}`+"\n" {
		t.Fatalf("again: %d %q", code, body)
	}
	if after := e.orders(t, "ali"); len(after) != 1 || after[0] != before[0] {
		t.Fatalf("re-registration changed %+v to %+v", before, after)
	}
	if code, body := post(`[]`); code != 200 || body != `{"already_known":0,"registered":0}`+"\n" {
		t.Fatalf("empty batch: %d %q", code, body)
	}
	if code, _, _ := e.do(t, http.MethodPost, "/api/orders", nil, batch); code != http.StatusUnauthorized {
		t.Fatalf("without token: %d", code)
	}
}

// TestOrdersBadRowRegistersNothing: a batch with a bad order in the middle
// is refused whole: 400 naming the order and the field, and the ledger
// holds none of the batch.
func TestOrdersBadRowRegistersNothing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, bad, want string }{
		{"unknown account", `{"account":"nobody","out_trade_no":"B","amount_fen":1}`, "order 1: account: "},
		{"no out_trade_no", `{"account":"ali","amount_fen":1}`, "order 1: out_trade_no: "},
		{"negative amount", `{"account":"ali","out_trade_no":"B","amount_fen":-5}`, "order 1: amount_fen: "},
		{"amount not a number", `{"account":"ali","out_trade_no":"B","amount_fen":"lots"}`, "order 1: amount_fen: "},
		{"created_at not RFC 3339", `{"account":"ali","out_trade_no":"B","amount_fen":1,"created_at":"20/11/2026"}`, "order 1: created_at: "},
		{"amount in yuan", `{"account":"ali","out_trade_no":"B","amount":42.00}`, `order 1: unknown field "amount"`},
		{"fractional fen", `{"account":"ali","out_trade_no":"B","amount_fen":42.5}`, "order 1: amount_fen: "},
		{"zero amount", `{"account":"ali","out_trade_no":"B","amount_fen":0}`, "order 1: amount_fen: want a positive whole number"},
		{"not an object", `"B"`, "order 1: want a JSON order"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, token)
			body := `[{"account":"ali","out_trade_no":"G-1","amount_fen":100},` + tc.bad + `,{"account":"ali","out_trade_no":"G-3","amount_fen":300}]`
			code, _, reply := e.do(t, http.MethodPost, "/api/orders", bearer(token), body)
			if code != http.StatusBadRequest || !strings.Contains(reply, tc.want) {
				t.Fatalf("%d %q, want 400 with %q", code, reply, tc.want)
			}
			if got := e.orders(t, "ali"); len(got) != 0 {
				t.Fatalf("a refused batch left %d orders registered: %+v", len(got), got)
			}
		})
	}
}

func TestOrdersMalformed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, token)
	for _, body := range []string{"", "{", "[{]", "42"} {
		if code, _, reply := e.do(t, http.MethodPost, "/api/orders", bearer(token), body); code != http.StatusBadRequest || !strings.Contains(reply, "want a JSON order") {
			t.Errorf("%q: %d %q", body, code, reply)
		}
	}
	big := `{"account":"ali","out_trade_no":"` + strings.Repeat("x", 1<<20) + `"}`
	if code, _, _ := e.do(t, http.MethodPost, "/api/orders", bearer(token), big); code != http.StatusRequestEntityTooLarge {
		t.Errorf("1 MiB body: %d", code)
	}
	if code, _, _ := e.do(t, http.MethodGet, "/api/orders", bearer(token), ""); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /api/orders: %d", code)
	}
}

// TestOrdersLedgerError: a ledger failure is the server's fault: 500,
// logged, never 400, and nothing is registered.
func TestOrdersLedgerError(t *testing.T) {
	t.Parallel()
	t.Run("failing insert", func(t *testing.T) {
		e := newEnv(t, token)
		storetest.FailOrderInsert(t, e.dbPath, "O-BOOM")
		body := `[{"account":"ali","out_trade_no":"O-1","amount_fen":100},{"account":"ali","out_trade_no":"O-BOOM","amount_fen":100},{"account":"ali","out_trade_no":"O-3","amount_fen":100}]`
		code, _, reply := e.do(t, http.MethodPost, "/api/orders", bearer(token), body)
		if code != http.StatusInternalServerError {
			t.Fatalf("%d %q, want 500", code, reply)
		}
		if strings.Contains(reply, "injected failure") {
			t.Errorf("the ledger's error reached the client: %q", reply)
		}
		if !strings.Contains(e.logs.String(), "register orders failed") || !strings.Contains(e.logs.String(), "injected failure") {
			t.Errorf("the failure was not logged:\n%s", e.logs.String())
		}
		if got := e.orders(t, "ali"); len(got) != 0 {
			t.Fatalf("a failed batch left %d orders registered: %+v", len(got), got)
		}
	})
	t.Run("closed ledger", func(t *testing.T) {
		e := newEnv(t, token)
		e.db.Close()
		code, _, reply := e.do(t, http.MethodPost, "/api/orders", bearer(token), `{"account":"ali","out_trade_no":"O-1","amount_fen":100}`)
		if code != http.StatusInternalServerError {
			t.Fatalf("%d %q, want 500", code, reply)
		}
	})
}

func TestHealth(t *testing.T) {
	t.Parallel()
	e := newEnv(t, token)
	check := func(path string, want int, wantBody string) {
		t.Helper()
		code, _, body := e.do(t, http.MethodGet, path, nil, "")
		if code != want || (wantBody != "" && body != wantBody) {
			t.Errorf("%s: %d %q, want %d %q", path, code, body, want, wantBody)
		}
	}
	check("/healthz", 200, "ok\n")
	check("/readyz", http.StatusServiceUnavailable, "schedules not loaded\n")
	e.ready.Store(true)
	check("/readyz", 200, "ready\n")
	e.db.Close()
	check("/healthz", http.StatusServiceUnavailable, "database unavailable\n")
	check("/readyz", http.StatusServiceUnavailable, "database not writable\n")
}

type tlog struct{ t *testing.T }

func (w tlog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

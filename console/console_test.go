package console_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/console"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/provider/sandbox/sandboxtest"
	"github.com/payrecon/payrecon/review"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

const (
	adminToken = "admin-token-0123456789"
	liToken    = "li-token-0123456789abc"
	xss        = "<script>alert(1)</script>"
)

var sandboxDay = time.Date(2026, 11, 20, 0, 0, 0, 0, payrecon.ShanghaiFixed)

// env is a console over a real ledger and the provider emulator: one
// Alipay trade the ledger holds 1.00 short (NEEDS_REVIEW), one whose
// order number is a script tag, and a quarantined notification with a
// script in its body.
type env struct {
	console    *console.Console
	srv        *httptest.Server
	db         *store.DB
	trade      *sandbox.Trade
	reportsDir string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, sandbox.ServerFaults{}, nil)
}

// newEnvWith is newEnv with the emulator's faults, and the console's
// options changed by tweak (if not nil).
func newEnvWith(t *testing.T, faults sandbox.ServerFaults, tweak func(*console.Options)) *env {
	t.Helper()
	fx := sandboxtest.New(t)
	day := fx.Sandbox.GenerateDay(sandboxDay, sandbox.DayOptions{Trades: 6, Seed: 3})
	var tr *sandbox.Trade
	for _, x := range day.Trades {
		if x.Provider == payrecon.Alipay && !x.PaidAt.IsZero() && len(x.Refunds) == 0 && x.AmountFen > 200 {
			tr = x
			break
		}
	}
	if tr == nil {
		t.Fatal("the sandbox day has no plain paid Alipay trade")
	}
	fx.Serve(t, faults, day)
	ali, _ := fx.Clients(t)
	db := storetest.MustOpen(t, store.Options{})
	n := storetest.Pay("p1", tr.OutTradeNo, tr.AmountFen-100)
	n.Event.ProviderTradeNo = tr.ProviderTradeNo
	storetest.Record(t, db, n)
	storetest.Record(t, db, storetest.Pay("p2", xss, 300))
	dayOf := payrecon.DayOf(sandboxDay)
	runID := storetest.Must(db.StartRun(t.Context(), "ali", dayOf, "cli"))
	ds := []payrecon.Discrepancy{
		{Code: payrecon.AmountMismatch, Kind: payrecon.EntryPayment, OutTradeNo: tr.OutTradeNo, ProviderTradeNo: tr.ProviderTradeNo,
			BillFen: tr.AmountFen, LedgerFen: tr.AmountFen - 100, HasBill: true, HasLedger: true, LedgerStatus: "PAID", Resolution: payrecon.OutcomeNeedsReview},
		{Code: payrecon.MissingChannel, Kind: payrecon.EntryPayment, OutTradeNo: xss, LedgerFen: 300, HasLedger: true, Note: xss,
			Resolution: payrecon.OutcomeNeedsReview},
	}
	marks := []payrecon.ReconMark{{Kind: payrecon.EntryPayment, OutTradeNo: tr.OutTradeNo, State: payrecon.StateNeedsReview},
		{Kind: payrecon.EntryPayment, OutTradeNo: xss, State: payrecon.StateNeedsReview}}
	if err := db.SaveReconciliation(t.Context(), runID, "ali", dayOf, ds, marks); err != nil {
		t.Fatal(err)
	}
	if err := db.Quarantine(t.Context(), payrecon.Rejected{ReceivedAt: time.Now(), Account: "ali", Provider: "alipay", Reason: "bad_signature",
		Detail: xss, Method: "POST", RemoteAddr: "127.0.0.1:1", Header: http.Header{"Content-Type": {"text/html"}}, Body: []byte(xss), BodySize: int64(len(xss))}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	logger := storetest.Logger(t)
	svc := &review.Service{DB: db, Accounts: map[string]review.Account{"ali": {Provider: payrecon.Alipay, Query: ali}}, WriteOffMaxFen: 50}
	daily := &jobs.Daily{DB: db, Now: time.Now, Log: logger, Accounts: map[string]jobs.Account{"ali": {Name: "ali", Provider: payrecon.Alipay, Client: ali}},
		Opt: jobs.Options{ArchiveDir: filepath.Join(dir, "archive"), ReportsDir: filepath.Join(dir, "reports"), Loc: payrecon.ShanghaiFixed}}
	opt := console.Options{Operators: []console.Operator{{Name: "admin", Token: []byte(adminToken)},
		{Name: "li", Token: []byte(liToken)}}, Accounts: []string{"ali"}, ReportsDir: filepath.Join(dir, "reports"), Forwarding: true}
	if tweak != nil {
		tweak(&opt)
	}
	c, err := console.New(svc, db, rerunner{daily}, opt, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(srv.Close)
	return &env{console: c, srv: srv, db: db, trade: tr, reportsDir: filepath.Join(dir, "reports")}
}

// rerunner runs the real daily job.
type rerunner struct{ d *jobs.Daily }

func (r rerunner) Rerun(ctx context.Context, account string, day payrecon.Day) error {
	_, err := r.d.Run(ctx, account, day, jobs.RunOptions{Trigger: "console"})
	return err
}

// noRedirect is a client that shows redirects instead of following them.
func noRedirect(jar http.CookieJar) *http.Client {
	return &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func do(t *testing.T, c *http.Client, method, u string, form url.Values, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func (e *env) itemID(t *testing.T, out string) string {
	t.Helper()
	items := storetest.Must(e.db.OpenItems(t.Context(), store.ItemFilter{}))
	for _, it := range items {
		if it.OutTradeNo == out {
			return itoa(it.ID)
		}
	}
	t.Fatalf("no open item for %s", out)
	return ""
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

var routes = []struct{ method, path string }{
	{"GET", "/console/"}, {"GET", "/console/inbox"}, {"GET", "/console/items/1"}, {"POST", "/console/items/1/requery"},
	{"POST", "/console/items/1/resolve"}, {"GET", "/console/runs"}, {"GET", "/console/runs/ali/2026-11-20.xlsx"},
	{"POST", "/console/runs/rerun"}, {"GET", "/console/quarantine"}, {"GET", "/console/quarantine/1"}, {"GET", "/console/orders"},
	{"POST", "/console/logout"},
}

// TestUnauthenticated: every page redirects to sign-in (a wrong bearer
// token too), the API answers 401, and the right bearer token opens the
// pages.
func TestUnauthenticated(t *testing.T) {
	e := newEnv(t)
	c := noRedirect(nil)
	for _, r := range routes {
		for _, hdr := range []map[string]string{nil, {"Authorization": "Bearer wrong"}} {
			res, _ := do(t, c, r.method, e.srv.URL+r.path, url.Values{}, hdr)
			if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/login" {
				t.Errorf("%s %s %v: %d %s, want a redirect to sign-in", r.method, r.path, hdr, res.StatusCode, res.Header.Get("Location"))
			}
		}
	}
	if res, _ := do(t, c, "GET", e.srv.URL+"/console/api/items", nil, nil); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("API without a token: %d, want 401", res.StatusCode)
	}
	bearer := map[string]string{"Authorization": "Bearer " + liToken}
	for _, p := range []string{"/console/", "/console/inbox", "/console/runs", "/console/quarantine", "/console/orders", "/console/api/items"} {
		if res, body := do(t, c, "GET", e.srv.URL+p, nil, bearer); res.StatusCode != http.StatusOK {
			t.Errorf("GET %s with the bearer token: %d %s", p, res.StatusCode, body)
		}
	}
	if res, _ := do(t, c, "GET", e.srv.URL+"/console/static/style.css", nil, nil); res.StatusCode != http.StatusOK {
		t.Errorf("the stylesheet: %d", res.StatusCode)
	}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// signIn signs in through the form and returns the client and the
// session's CSRF token.
func signIn(t *testing.T, e *env, token string, hdr map[string]string) (*http.Client, string, *http.Response) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := noRedirect(jar)
	_, page := do(t, c, "GET", e.srv.URL+"/console/login", nil, hdr)
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("sign-in page without a CSRF field:\n%s", page)
	}
	res, _ := do(t, c, "POST", e.srv.URL+"/console/login", url.Values{"csrf": {m[1]}, "token": {token}}, hdr)
	_, inbox := do(t, c, "GET", e.srv.URL+"/console/inbox", nil, hdr)
	m = csrfField.FindStringSubmatch(inbox)
	if m == nil {
		return c, "", res
	}
	return c, m[1], res
}

// TestSignInAndCSRF: the session cookie is HttpOnly, SameSite=Strict and
// Secure behind TLS; a wrong sign-in token signs nobody in; a form without
// the session's CSRF token is refused with 403 and changes nothing.
func TestSignInAndCSRF(t *testing.T) {
	e := newEnv(t)
	c, csrf, res := signIn(t, e, liToken, nil)
	ck := sessionCookie(res)
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Secure || csrf == "" {
		t.Fatalf("session cookie %+v, csrf %q", ck, csrf)
	}
	_, _, res = signIn(t, e, liToken, map[string]string{"X-Forwarded-Proto": "https"})
	if ck := sessionCookie(res); ck == nil || !ck.Secure {
		t.Fatalf("behind TLS, the cookie is not Secure: %+v", ck)
	}
	if _, csrf, res := signIn(t, e, "wrong-token", nil); sessionCookie(res) != nil || csrf != "" || !strings.Contains(res.Header.Get("Location"), "failed") {
		t.Fatalf("a wrong token signed in: %v", res.Header)
	}
	jar, _ := cookiejar.New(nil)
	if res, _ := do(t, noRedirect(jar), "POST", e.srv.URL+"/console/login", url.Values{"csrf": {"x"}, "token": {liToken}}, nil); res.StatusCode != http.StatusForbidden {
		t.Fatalf("sign-in without the form's CSRF token: %d", res.StatusCode)
	}
	id := e.itemID(t, e.trade.OutTradeNo)
	for _, r := range routes {
		if r.method != "POST" {
			continue
		}
		for _, bad := range []url.Values{{}, {"csrf": {strings.Repeat("f", len(csrf)-1) + "0"}}} {
			bad.Set("action", "accept-ledger")
			bad.Set("remark", "r")
			if res, _ := do(t, c, "POST", e.srv.URL+strings.Replace(r.path, "/1/", "/"+id+"/", 1), bad, nil); res.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s with CSRF %q: %d, want 403", r.path, bad.Get("csrf"), res.StatusCode)
			}
		}
	}
	if got := storetest.Trade(t, e.db, e.trade.OutTradeNo); got.ReconState != payrecon.StateNeedsReview {
		t.Fatalf("a refused form changed the trade: %s", got.ReconState)
	}
	if res, _ := do(t, c, "GET", e.srv.URL+"/console/inbox", nil, nil); res.StatusCode != http.StatusOK {
		t.Fatalf("a session lost by the refusals: %d", res.StatusCode)
	}
	if res, _ := do(t, c, "POST", e.srv.URL+"/console/logout", url.Values{"csrf": {csrf}}, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	if res, _ := do(t, c, "GET", e.srv.URL+"/console/inbox", nil, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("after logout: %d", res.StatusCode)
	}
}

func sessionCookie(res *http.Response) *http.Cookie {
	for _, ck := range res.Cookies() {
		if ck.Name == "payrecon_console" && ck.Value != "" {
			return ck
		}
	}
	return nil
}

// TestResolveWithPreview: accepting the provider's record shows a preview
// and changes nothing; the confirmation repairs the amount, and the item
// page shows the audit row (operator, remark) and RESOLVED_MANUALLY. A
// write-off over the tolerance is refused; a query again records the
// provider's answer.
func TestResolveWithPreview(t *testing.T) {
	e := newEnv(t)
	c, csrf, _ := signIn(t, e, liToken, nil)
	id := e.itemID(t, e.trade.OutTradeNo)
	base := e.srv.URL + "/console/items/" + id
	if res, body := do(t, c, "POST", base+"/requery", url.Values{"csrf": {csrf}}, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("requery: %d %s", res.StatusCode, body)
	}
	if _, page := do(t, c, "GET", base, nil, nil); !strings.Contains(page, "trade_status=TRADE_SUCCESS") ||
		!regexp.MustCompile(`<td>li</td><td class="mono">alipay.trade.query [^<]*trade_status=TRADE_SUCCESS`).MatchString(page) {
		t.Fatalf("the item does not show the query's answer:\n%s", page)
	}
	if res, body := do(t, c, "POST", base+"/resolve", url.Values{"csrf": {csrf}, "action": {"write-off"}, "remark": {"small"}}, nil); res.StatusCode != http.StatusBadRequest ||
		!strings.Contains(body, "tolerance") {
		t.Fatalf("write-off of 1.00 over a 0.50 tolerance: %d %s", res.StatusCode, body)
	}
	if res, body := do(t, c, "POST", base+"/resolve", url.Values{"csrf": {csrf}, "action": {"accept-ledger"}, "remark": {" "}}, nil); res.StatusCode != http.StatusBadRequest ||
		!strings.Contains(body, "remark is required") {
		t.Fatalf("no remark: %d %s", res.StatusCode, body)
	}
	form := url.Values{"csrf": {csrf}, "action": {"accept-provider"}, "remark": {"the bill is right"}}
	res, preview := do(t, c, "POST", base+"/resolve", form, nil)
	tok := regexp.MustCompile(`name="confirm" value="([0-9a-f]+)"`).FindStringSubmatch(preview)
	amt := payrecon.Fen(e.trade.AmountFen)
	if res.StatusCode != http.StatusOK || tok == nil || !strings.Contains(preview, "amount_fen</td><td>"+itoa(int64(amt-100))+"</td><td>"+itoa(int64(amt))) {
		t.Fatalf("preview: %d\n%s", res.StatusCode, preview)
	}
	if got := storetest.Trade(t, e.db, e.trade.OutTradeNo); got.AmountFen != amt-100 || got.ReconState != payrecon.StateNeedsReview {
		t.Fatalf("the preview changed the trade: %+v", got)
	}
	form.Set("confirm", tok[1])
	if res, body := do(t, c, "POST", base+"/resolve", form, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirm: %d %s", res.StatusCode, body)
	}
	if got := storetest.Trade(t, e.db, e.trade.OutTradeNo); got.AmountFen != amt || got.ReconState != payrecon.StateResolvedManually {
		t.Fatalf("resolved trade: %+v", got)
	}
	_, page := do(t, c, "GET", base, nil, nil)
	if !strings.Contains(page, `id="recon-state">RESOLVED_MANUALLY`) || !regexp.MustCompile(`<td>li</td><td>manual: accept-provider[^<]*</td><td>the bill is right</td>`).MatchString(page) ||
		strings.Contains(page, `id="resolve-form"`) {
		t.Fatalf("item page after the resolution:\n%s", page)
	}
	if res, _ := do(t, c, "POST", base+"/resolve", form, nil); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("resolving twice: %d", res.StatusCode)
	}
}

// TestEscaping: an order number, a note and a quarantined body that are a
// script tag render as text.
func TestEscaping(t *testing.T) {
	e := newEnv(t)
	bearer := map[string]string{"Authorization": "Bearer " + adminToken}
	c := noRedirect(nil)
	id := e.itemID(t, xss)
	for _, p := range []string{"/console/inbox", "/console/items/" + id, "/console/quarantine", "/console/quarantine/1"} {
		res, page := do(t, c, "GET", e.srv.URL+p, nil, bearer)
		if res.StatusCode != http.StatusOK || strings.Contains(page, xss) || !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s: %d, script not escaped:\n%s", p, res.StatusCode, page)
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'none'") {
			t.Errorf("%s: CSP %q", p, csp)
		}
	}
}

// TestWorkbookDownload: a run's workbook downloads; any other path under
// the account, another account and traversal attempts are 404.
func TestWorkbookDownload(t *testing.T) {
	e := newEnv(t)
	if err := os.MkdirAll(filepath.Join(e.reportsDir, "ali"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.reportsDir, "ali", "2026-11-20.xlsx"), []byte("PK workbook"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.reportsDir, "secret.txt"), []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	bearer := map[string]string{"Authorization": "Bearer " + adminToken}
	c := noRedirect(nil)
	if res, body := do(t, c, "GET", e.srv.URL+"/console/runs/ali/2026-11-20.xlsx", nil, bearer); res.StatusCode != http.StatusOK || body != "PK workbook" {
		t.Fatalf("workbook: %d %q", res.StatusCode, body)
	}
	for _, p := range []string{"/console/runs/ali/..%2Fsecret.txt", "/console/runs/..%2F..%2Fsecret.txt/2026-11-20.xlsx", "/console/runs/ali/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
		"/console/runs/other/2026-11-20.xlsx", "/console/runs/ali/2026-11-21.xlsx", "/console/runs/ali/secret.txt", "/console/runs/ali/..\\secret.txt"} {
		if res, body := do(t, c, "GET", e.srv.URL+p, nil, bearer); res.StatusCode != http.StatusNotFound || strings.Contains(body, "secret") {
			t.Errorf("GET %s: %d %q, want 404", p, res.StatusCode, body)
		}
	}
}

// TestPagesAndLanguage: each page renders in Chinese by default and in
// English with ?lang=en (remembered); a re-run runs the daily job; an
// unknown item or quarantined row is 404.
func TestPagesAndLanguage(t *testing.T) {
	e := newEnv(t)
	c, csrf, _ := signIn(t, e, adminToken, nil)
	if _, page := do(t, c, "GET", e.srv.URL+"/console/inbox", nil, nil); !strings.Contains(page, "待处理") || !strings.Contains(page, `lang="zh-CN"`) {
		t.Fatalf("the default language is not Chinese:\n%s", page)
	}
	for p, want := range map[string][2]string{"/console/": {"近 14 日回调健康度", "Callback health"}, "/console/inbox": {"待处理", "Inbox"},
		"/console/runs": {"重新对账", "Re-run"}, "/console/quarantine": {"不能在此接受", "cannot be accepted"}, "/console/orders": {"预期订单", "Expected orders"}} {
		if res, page := do(t, c, "GET", e.srv.URL+p+"?lang=zh", nil, nil); res.StatusCode != http.StatusOK || !strings.Contains(page, want[0]) {
			t.Errorf("%s (zh): %d, lacks %q", p, res.StatusCode, want[0])
		}
		if res, page := do(t, c, "GET", e.srv.URL+p+"?lang=en", nil, nil); res.StatusCode != http.StatusOK || !strings.Contains(page, want[1]) {
			t.Errorf("%s (en): %d, lacks %q", p, res.StatusCode, want[1])
		}
	}
	do(t, c, "GET", e.srv.URL+"/console/orders?lang=en", nil, nil)
	if _, page := do(t, c, "GET", e.srv.URL+"/console/", nil, nil); !strings.Contains(page, "<svg class=\"health\"") || !strings.Contains(page, "Forwarding backlog") {
		t.Fatalf("overview (English remembered):\n%s", page)
	}
	for _, p := range []string{"/console/items/99999", "/console/items/x", "/console/quarantine/99999"} {
		if res, _ := do(t, c, "GET", e.srv.URL+p, nil, nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, res.StatusCode)
		}
	}
	if res, _ := do(t, c, "POST", e.srv.URL+"/console/runs/rerun", url.Values{"csrf": {csrf}, "account": {"nope"}, "day": {"2026-11-20"}}, nil); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("re-run of an unknown account: %d", res.StatusCode)
	}
	if res, body := do(t, c, "POST", e.srv.URL+"/console/runs/rerun", url.Values{"csrf": {csrf}, "account": {"ali"}, "day": {"2026-11-20"}}, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("re-run: %d %s", res.StatusCode, body)
	}
	runs := storetest.Must(e.db.Runs(t.Context(), 10))
	if len(runs) != 2 || runs[0].Trigger != "console" || runs[0].Status != payrecon.RunOK {
		t.Fatalf("runs after the re-run: %+v", runs)
	}
	if _, page := do(t, c, "GET", e.srv.URL+"/console/runs", nil, nil); !strings.Contains(page, "/console/runs/ali/2026-11-20.xlsx") {
		t.Fatalf("runs page lacks the workbook link:\n%s", page)
	}
}

// TestRerunOutlastsTheRequest: a re-run longer than the console waits
// answers at once that it goes on, shows as running, refuses a second
// re-run of the day meanwhile (the day's lease), and ends ok without the
// request; Close cancels a re-run still going.
func TestRerunOutlastsTheRequest(t *testing.T) {
	e := newEnvWith(t, sandbox.ServerFaults{Slow: 400 * time.Millisecond}, func(o *console.Options) { o.RerunWait = 50 * time.Millisecond })
	c, csrf, _ := signIn(t, e, adminToken, nil)
	rerun := url.Values{"csrf": {csrf}, "account": {"ali"}, "day": {"2026-11-20"}}
	res, body := do(t, c, "POST", e.srv.URL+"/console/runs/rerun", rerun, nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/runs?done=rerun_started" {
		t.Fatalf("slow re-run: %d %s %s, want a redirect saying it goes on", res.StatusCode, res.Header.Get("Location"), body)
	}
	if _, page := do(t, c, "GET", e.srv.URL+"/console/runs?done=rerun_started&lang=en", nil, nil); !strings.Contains(page, "Re-run started") ||
		!strings.Contains(page, `class="status-running"`) {
		t.Fatalf("runs page during the re-run:\n%s", page)
	}
	if res, body := do(t, c, "POST", e.srv.URL+"/console/runs/rerun", rerun, nil); res.StatusCode != http.StatusConflict || !strings.Contains(body, "being reconciled") {
		t.Fatalf("second re-run while the first runs: %d, want 409 naming the lease:\n%s", res.StatusCode, body)
	}
	var last payrecon.Run
	for i := 0; i < 300; i++ { // up to 30 s
		runs := storetest.Must(e.db.Runs(t.Context(), 10))
		if last = runs[0]; last.Trigger == "console" && last.Status != payrecon.RunRunning {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if last.Trigger != "console" || last.Status != payrecon.RunOK {
		t.Fatalf("the re-run after the request: %+v, want ok", last)
	}
	if _, page := do(t, c, "GET", e.srv.URL+"/console/runs", nil, nil); !strings.Contains(page, "/console/runs/ali/2026-11-20.xlsx") {
		t.Fatalf("runs page lacks the workbook link:\n%s", page)
	}

	if res, _ := do(t, c, "POST", e.srv.URL+"/console/runs/rerun", rerun, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("third re-run: %d", res.StatusCode)
	}
	e.console.Close()
	runs := storetest.Must(e.db.Runs(t.Context(), 10))
	if runs[0].Status == payrecon.RunRunning || runs[0].Status == payrecon.RunOK {
		t.Fatalf("a re-run going on at Close: %+v, want it ended without completing", runs[0])
	}
	if res, body := do(t, c, "POST", e.srv.URL+"/console/runs/rerun", rerun, nil); res.StatusCode == http.StatusSeeOther || !strings.Contains(body, "shutting down") {
		t.Fatalf("re-run after Close: %d %s", res.StatusCode, body)
	}
}

// TestSignInLimit: after SignInFailures wrong tokens from one address
// (through the form or as bearer tokens), that address is refused with
// 429 and Retry-After, even with the right token, until the window
// passes; then the right token signs in again.
func TestSignInLimit(t *testing.T) {
	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	limit := func(o *console.Options) { o.SignInFailures, o.SignInWindow, o.Now = 3, time.Minute, now }
	for _, via := range []string{"form", "bearer"} {
		t.Run(via, func(t *testing.T) {
			skew.Store(0)
			e := newEnvWith(t, sandbox.ServerFaults{}, limit)
			for i := range 3 {
				if via == "form" {
					if _, _, res := signIn(t, e, "wrong-token-0123456789", nil); res.Header.Get("Location") != "/console/login?failed=1" {
						t.Fatalf("wrong token %d: %d %s", i, res.StatusCode, res.Header.Get("Location"))
					}
				} else if res, _ := do(t, noRedirect(nil), "GET", e.srv.URL+"/console/api/items", nil, map[string]string{"Authorization": "Bearer wrong"}); res.StatusCode != http.StatusUnauthorized {
					t.Fatalf("wrong bearer %d: %d", i, res.StatusCode)
				}
			}
			if _, _, res := signIn(t, e, adminToken, nil); res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" || sessionCookie(res) != nil {
				t.Fatalf("right token after 3 failures: %d Retry-After %q, want 429 and no session", res.StatusCode, res.Header.Get("Retry-After"))
			}
			res, body := do(t, noRedirect(nil), "GET", e.srv.URL+"/console/api/items", nil, map[string]string{"Authorization": "Bearer " + adminToken})
			if res.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "too many failed sign-ins") {
				t.Fatalf("right bearer token after 3 failures: %d %s", res.StatusCode, body)
			}
			if res, _ := do(t, noRedirect(nil), "GET", e.srv.URL+"/console/login", nil, nil); res.StatusCode != http.StatusOK {
				t.Fatalf("the sign-in page itself: %d", res.StatusCode)
			}
			skew.Store(int64(61 * time.Second))
			if _, _, res := signIn(t, e, adminToken, nil); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/" {
				t.Fatalf("right token after the window: %d %s", res.StatusCode, res.Header.Get("Location"))
			}
		})
	}
}

// TestSessionsInTheLedger: a session is kept in the ledger, so another
// console on the same ledger (a restart, or a second replica behind a
// load balancer) knows it; signing out on one ends it on both; a changed
// token or a removed operator ends it; the ledger holds no usable cookie.
func TestSessionsInTheLedger(t *testing.T) {
	e := newEnv(t)
	c, _, res := signIn(t, e, liToken, nil)
	ck := sessionCookie(res)
	if ck == nil {
		t.Fatal("no session cookie")
	}
	replica := func(ops ...console.Operator) *httptest.Server {
		t.Helper()
		cons, err := console.New(nil, e.db, nil, console.Options{Operators: ops, Accounts: []string{"ali"}}, storetest.Logger(t))
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(cons.Handler())
		t.Cleanup(srv.Close)
		return srv
	}
	withCookie := func(srv *httptest.Server) int {
		t.Helper()
		jar, _ := cookiejar.New(nil)
		u, _ := url.Parse(srv.URL + "/console/")
		jar.SetCookies(u, []*http.Cookie{{Name: ck.Name, Value: ck.Value, Path: "/console/"}})
		res, _ := do(t, noRedirect(jar), "GET", srv.URL+"/console/runs", nil, nil)
		return res.StatusCode
	}
	admin, li := console.Operator{Name: "admin", Token: []byte(adminToken)}, console.Operator{Name: "li", Token: []byte(liToken)}
	if got := withCookie(replica(admin, li)); got != http.StatusOK {
		t.Fatalf("the session on another console over the same ledger: %d, want 200", got)
	}
	if got := withCookie(replica(admin, console.Operator{Name: "li", Token: []byte("li-new-token-0123456789")})); got != http.StatusSeeOther {
		t.Fatalf("the session after li's token changed: %d, want a redirect to sign-in", got)
	}
	// The changed token ended the session in the ledger: li's old token is
	// back, the session is not.
	if got := withCookie(replica(admin, li)); got != http.StatusSeeOther {
		t.Fatalf("the session ended by a token change, back on the old token: %d", got)
	}

	c, csrf, res := signIn(t, e, liToken, nil)
	ck = sessionCookie(res)
	if got := withCookie(replica(admin)); got != http.StatusSeeOther {
		t.Fatalf("the session of a removed operator: %d, want a redirect to sign-in", got)
	}
	c, csrf, res = signIn(t, e, liToken, nil)
	ck = sessionCookie(res)
	other := replica(admin, li)
	if got := withCookie(other); got != http.StatusOK {
		t.Fatalf("a fresh session elsewhere: %d", got)
	}
	if _, err := e.db.Session(t.Context(), ck.Value); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the ledger keys a session by its cookie: %v", err)
	}
	root := filepath.Dir(t.TempDir()) // the ledger file and its WAL are under the test's temp root
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(path); strings.Contains(string(b), ck.Value) {
				t.Errorf("%s holds the session cookie", path)
			}
		}
		return nil
	})
	if res, _ := do(t, c, "POST", e.srv.URL+"/console/logout", url.Values{"csrf": {csrf}}, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out: %d", res.StatusCode)
	}
	if got := withCookie(other); got != http.StatusSeeOther {
		t.Fatalf("the session signed out on one console, on the other: %d", got)
	}
}

// TestItemShowsBillLines: once the day's bill is archived, an item's page
// shows the bill's own lines for it (Alipay's GBK decoded), numbered as in
// the file; before, only the amounts the run stored.
func TestItemShowsBillLines(t *testing.T) {
	e := newEnv(t)
	c, csrf, _ := signIn(t, e, adminToken, nil)
	id := e.itemID(t, e.trade.OutTradeNo)
	if _, page := do(t, c, "GET", e.srv.URL+"/console/items/"+id, nil, nil); strings.Contains(page, `id="bill-lines"`) {
		t.Fatalf("bill lines shown before any bill was archived:\n%s", page)
	}
	if res, body := do(t, c, "POST", e.srv.URL+"/console/runs/rerun", url.Values{"csrf": {csrf}, "account": {"ali"}, "day": {"2026-11-20"}}, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("re-run: %d %s", res.StatusCode, body)
	}
	id = e.itemID(t, e.trade.OutTradeNo)
	_, page := do(t, c, "GET", e.srv.URL+"/console/items/"+id, nil, nil)
	m := regexp.MustCompile(`(?s)<pre id="bill-lines">(.*?)</pre>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("item page without bill lines:\n%s", page)
	}
	if !strings.Contains(m[1], e.trade.OutTradeNo) || !strings.Contains(m[1], e.trade.ProviderTradeNo) || !strings.Contains(m[1], e.trade.AmountFen.Yuan()) ||
		!strings.Contains(m[1], "交易") {
		t.Fatalf("bill lines lack the trade's numbers, amount or decoded 业务类型:\n%s", m[1])
	}
}

// Package console is payrecon's ops console: server-rendered pages
// (html/template, templates and stylesheet embedded, no JavaScript) under
// /console/ where ops see what needs action and settle it. Sign-in
// exchanges the admin token or a named operator's token for a session
// cookie; every form carries a CSRF token; every page also takes
// "Authorization: Bearer <token>". The pages hold no business rules: the
// actions call the same [review.Service] as "payrecon review", and a
// re-run calls the daily job through [Rerunner].
package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/review"
	"github.com/payrecon/payrecon/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Review is the review rules the console calls (a *review.Service).
type Review interface {
	List(ctx context.Context, f review.Filter) ([]payrecon.ReviewItem, error)
	Show(ctx context.Context, id int64) (review.Detail, error)
	Requery(ctx context.Context, id int64, operator string) (string, error)
	Preview(ctx context.Context, req review.Request) (review.Plan, error)
	Resolve(ctx context.Context, req review.Request, confirm string) (review.Plan, error)
}

// Ledger is what the pages read from the ledger.
type Ledger interface {
	Runs(ctx context.Context, limit int) ([]payrecon.Run, error)
	CallbackHealth(ctx context.Context, account string, from, to time.Time) (payrecon.CallbackHealth, []payrecon.HourHealth, error)
	QuarantineList(ctx context.Context, f store.QuarantineFilter) ([]store.Quarantined, error)
	QuarantineEntry(ctx context.Context, id int64) (store.Quarantined, error)
	Orders(ctx context.Context, account string, from, to time.Time) ([]payrecon.ExpectedOrder, error)
	Outbox(ctx context.Context) (payrecon.OutboxStats, error)
	RejectedSince(ctx context.Context, since time.Time) (map[string]int, error)
	NotificationsSince(ctx context.Context, since time.Time) (map[string]int, error)
	Sessions
}

// Sessions keeps the console's sessions in the ledger, so a restart keeps
// people signed in and every replica knows every session.
type Sessions interface {
	CreateSession(ctx context.Context, idHash string, s store.Session, now time.Time) error
	Session(ctx context.Context, idHash string) (store.Session, error)
	DeleteSession(ctx context.Context, idHash string) error
}

// Rerunner runs the daily job for one (account, day) now.
type Rerunner interface {
	Rerun(ctx context.Context, account string, day payrecon.Day) error
}

// Operator is one who may sign in: a name and a token.
type Operator struct {
	Name  string
	Token []byte
}

// Options configure the console.
type Options struct {
	// Operators may sign in; with none, the console answers 404.
	Operators  []Operator
	Accounts   []string
	ReportsDir string
	Locale     string // zh (default) or en; times are shown in Beijing time, as bill days are
	// Forwarding says forwarding is configured (the overview shows the
	// backlog).
	Forwarding bool
	Now        func() time.Time
	// SessionTTL bounds a session (default 12 h).
	SessionTTL time.Duration
	// SignInFailures failed sign-ins (form or bearer token) from one
	// address within SignInWindow refuse that address until the window
	// passes (defaults 20 and 15 min).
	SignInFailures int
	SignInWindow   time.Duration
	// RerunWait is how long a re-run request waits for the run to end
	// before it answers that the run goes on (default 3 s).
	RerunWait time.Duration
}

// Console serves the pages.
type Console struct {
	review Review
	ledger Ledger
	rerun  Rerunner
	opt    Options
	log    *slog.Logger
	pages  map[string]*template.Template

	// ctx is the re-runs' context, cancelled by Close; reruns counts
	// the re-runs in flight.
	ctx    context.Context
	cancel context.CancelFunc
	reruns sync.WaitGroup

	limit *signInLimit

	mu     sync.Mutex
	closed bool
}

// session is a signed-in browser's session.
type session struct {
	operator string
	csrf     string
}

// maxFormBytes bounds a form (a remark is short).
const maxFormBytes = 64 << 10

const (
	sessionCookie = "payrecon_console"
	loginCookie   = "payrecon_login_csrf"
	langCookie    = "payrecon_lang"
)

// New builds the console.
func New(rv Review, ledger Ledger, rerun Rerunner, opt Options, logger *slog.Logger) (*Console, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.SessionTTL <= 0 {
		opt.SessionTTL = 12 * time.Hour
	}
	if opt.SignInFailures <= 0 {
		opt.SignInFailures = 20
	}
	if opt.SignInWindow <= 0 {
		opt.SignInWindow = 15 * time.Minute
	}
	if opt.RerunWait <= 0 {
		opt.RerunWait = 3 * time.Second
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Console{review: rv, ledger: ledger, rerun: rerun, opt: opt, log: logger.With("component", "console"), pages: pages,
		ctx: ctx, cancel: cancel, limit: &signInLimit{MaxFailures: opt.SignInFailures, Window: opt.SignInWindow}}, nil
}

// Close cancels the re-runs in flight and waits for them to end (a
// cancelled run is recorded as cancelled, not failed); a re-run asked for
// afterwards is refused.
func (c *Console) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.reruns.Wait()
	return nil
}

func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		page := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if page == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, err
		}
		pages[page] = t
	}
	return pages, nil
}

// Handler is the console's route table, to be mounted at /console/.
func (c *Console) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /console/static/", http.StripPrefix("/console/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /console/login", c.loginPage)
	mux.HandleFunc("POST /console/login", c.login)
	mux.Handle("POST /console/logout", c.page(c.logout))
	mux.Handle("GET /console/{$}", c.page(c.overview))
	mux.Handle("GET /console/inbox", c.page(c.inbox))
	mux.Handle("GET /console/items/{id}", c.page(c.item))
	mux.Handle("POST /console/items/{id}/requery", c.page(c.requery))
	mux.Handle("POST /console/items/{id}/resolve", c.page(c.resolve))
	mux.Handle("GET /console/runs", c.page(c.runs))
	mux.Handle("GET /console/runs/{account}/{file}", c.page(c.workbook))
	mux.Handle("POST /console/runs/rerun", c.page(c.rerunDay))
	mux.Handle("GET /console/quarantine", c.page(c.quarantine))
	mux.Handle("GET /console/quarantine/{id}", c.page(c.quarantineRow))
	mux.Handle("GET /console/orders", c.page(c.orders))
	mux.Handle("GET /console/api/items", c.api(c.apiItems))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(c.opt.Operators) == 0 {
			http.Error(w, "the console is disabled: set admin.token_file or admin.operators", http.StatusNotFound)
			return
		}
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "same-origin")
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if c.refused(w, r) {
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// who is the signed-in operator (by bearer token or session cookie), and
// the session ("" for bearer requests, which need no CSRF token).
func (c *Console) who(r *http.Request) (operator string, sess *session) {
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		if name := c.operatorFor([]byte(tok)); name != "" {
			return name, nil
		}
		c.signInFailed(r, "bearer")
		return "", nil
	}
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return "", nil
	}
	s, err := c.ledger.Session(r.Context(), idHash(ck.Value))
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			c.log.Error("console session", "err", err)
		}
		return "", nil
	}
	if !c.opt.Now().Before(s.ExpiresAt) || s.TokenFP == "" || s.TokenFP != c.tokenFP(s.Operator) {
		// Expired, or the operator is gone or has another token now.
		c.ledger.DeleteSession(r.Context(), idHash(ck.Value))
		return "", nil
	}
	return s.Operator, &session{operator: s.Operator, csrf: s.CSRF}
}

// idHash is the ledger's key of a session cookie: the ledger never holds
// a cookie that signs anyone in.
func idHash(cookie string) string {
	h := sha256.Sum256([]byte(cookie))
	return hex.EncodeToString(h[:])
}

// tokenFP fingerprints operator's current token ("" when there is no
// such operator), so a session ends when its operator's token changes.
func (c *Console) tokenFP(operator string) string {
	for _, op := range c.opt.Operators {
		if op.Name == operator && len(op.Token) > 0 {
			h := sha256.Sum256(append([]byte("payrecon console token\x00"), op.Token...))
			return hex.EncodeToString(h[:8])
		}
	}
	return ""
}

// refused answers 429 to a sign-in attempt (the sign-in form posted, or
// a bearer token) from an address with too many recent failures, and
// reports whether it did.
func (c *Console) refused(w http.ResponseWriter, r *http.Request) bool {
	attempt := strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") || (r.Method == http.MethodPost && r.URL.Path == "/console/login")
	if !attempt {
		return false
	}
	blocked, until := c.limit.blocked(host(r), c.opt.Now())
	if !blocked {
		return false
	}
	wait := max(until.Sub(c.opt.Now()), time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(int(wait.Round(time.Second)/time.Second)))
	http.Error(w, fmt.Sprintf("too many failed sign-ins from %s: try again in %s", host(r), wait.Round(time.Second)), http.StatusTooManyRequests)
	return true
}

// signInFailed counts and logs a wrong token from r's address (how: the
// form or a bearer token).
func (c *Console) signInFailed(r *http.Request, how string) {
	c.limit.fail(host(r), c.opt.Now())
	c.log.Warn("console sign-in refused", "remote_addr", r.RemoteAddr, "via", how)
}

// operatorFor is the operator whose token tok is ("" for none), compared
// in constant time against every token.
func (c *Console) operatorFor(tok []byte) string {
	name := ""
	for _, op := range c.opt.Operators {
		if len(op.Token) > 0 && subtle.ConstantTimeCompare(tok, op.Token) == 1 {
			name = op.Name
		}
	}
	return name
}

// req is one authenticated request.
type req struct {
	w        http.ResponseWriter
	r        *http.Request
	operator string
	csrf     string
	lang     string
}

// page wraps a page handler: unauthenticated → redirect to sign-in; a POST
// from a session needs its CSRF token (403 otherwise).
func (c *Console) page(fn func(rq *req)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op, sess := c.who(r)
		if op == "" {
			http.Redirect(w, r, "/console/login", http.StatusSeeOther)
			return
		}
		rq := &req{w: w, r: r, operator: op, lang: c.lang(w, r)}
		if sess != nil {
			rq.csrf = sess.csrf
			if r.Method == http.MethodPost && subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(sess.csrf)) != 1 {
				http.Error(w, "forbidden: bad or missing CSRF token", http.StatusForbidden)
				return
			}
		}
		fn(rq)
	})
}

// api wraps an API handler: unauthenticated → 401.
func (c *Console) api(fn func(rq *req)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op, _ := c.who(r)
		if op == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="payrecon"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		fn(&req{w: w, r: r, operator: op, lang: c.lang(w, r)})
	})
}

// lang is the page language: ?lang= (remembered in a cookie), the cookie,
// else the configured locale.
func (c *Console) lang(w http.ResponseWriter, r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l == "en" || l == "zh" {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/console/", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure(r)})
		return l
	}
	if ck, err := r.Cookie(langCookie); err == nil && (ck.Value == "en" || ck.Value == "zh") {
		return ck.Value
	}
	if c.opt.Locale == "en" {
		return "en"
	}
	return "zh"
}

// secure reports whether the request came over TLS, directly or through
// a proxy that says so.
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	tok := randomToken()
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: tok, Path: "/console/", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure(r)})
	c.render(&req{w: w, r: r, lang: c.lang(w, r), csrf: tok}, "login", map[string]any{"Failed": r.URL.Query().Has("failed")})
}

// login exchanges a token for a session cookie. The form's CSRF token
// must match the cookie set with the form.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	ck, err := r.Cookie(loginCookie)
	if err != nil || ck.Value == "" || subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(ck.Value)) != 1 {
		http.Error(w, "forbidden: bad or missing CSRF token (reload the sign-in page)", http.StatusForbidden)
		return
	}
	name := c.operatorFor([]byte(strings.TrimSpace(r.PostFormValue("token"))))
	if name == "" {
		c.signInFailed(r, "form")
		http.Redirect(w, r, "/console/login?failed=1", http.StatusSeeOther)
		return
	}
	id, now := randomToken(), c.opt.Now()
	err = c.ledger.CreateSession(r.Context(), idHash(id), store.Session{Operator: name, TokenFP: c.tokenFP(name), CSRF: randomToken(),
		CreatedAt: now, ExpiresAt: now.Add(c.opt.SessionTTL)}, now)
	if err != nil {
		c.log.Error("console sign-in", "operator", name, "err", err)
		http.Error(w, "internal error (see the log)", http.StatusInternalServerError)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/console/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: secure(r), MaxAge: int(c.opt.SessionTTL / time.Second)})
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: "", Path: "/console/", MaxAge: -1})
	c.log.Info("console sign-in", "operator", name)
	http.Redirect(w, r, "/console/", http.StatusSeeOther)
}

func (c *Console) logout(rq *req) {
	if ck, err := rq.r.Cookie(sessionCookie); err == nil && ck.Value != "" {
		if err := c.ledger.DeleteSession(rq.r.Context(), idHash(ck.Value)); err != nil {
			c.fail(rq, err)
			return
		}
	}
	http.SetCookie(rq.w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/console/", MaxAge: -1})
	http.Redirect(rq.w, rq.r, "/console/login", http.StatusSeeOther)
}

// render writes a page.
func (c *Console) render(rq *req, page string, data map[string]any) {
	t, ok := c.pages[page]
	if !ok {
		http.Error(rq.w, "no such page", http.StatusInternalServerError)
		return
	}
	data["Lang"], data["CSRF"], data["Operator"], data["Page"] = rq.lang, rq.csrf, rq.operator, page
	rq.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := t.Execute(rq.w, data); err != nil {
		c.log.Error("console render", "page", page, "err", err)
	}
}

// fail answers an error as a page: 404 for a missing item, 400 for a
// request the rules refuse, 500 otherwise (logged; the page says little).
func (c *Console) fail(rq *req, err error) {
	status := http.StatusInternalServerError
	switch {
	case isNotFound(err):
		status = http.StatusNotFound
	case isBadRequest(err):
		status = http.StatusBadRequest
	default:
		c.log.Error("console", "path", rq.r.URL.Path, "err", err)
	}
	msg := err.Error()
	if status == http.StatusInternalServerError {
		msg = "internal error (see the log)"
	}
	rq.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	rq.w.WriteHeader(status)
	c.render(rq, "error", map[string]any{"Status": status, "Err": msg})
}

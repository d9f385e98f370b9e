// Package notify is payrecon's inbound intake for asynchronous provider
// notifications. Its handler runs a fixed sequence for every request:
// body size limit, read the body once, verify, commit the raw notification
// and its ledger effect in one durable transaction, and only then reply in
// the provider's exact acknowledgement format. A rejected notification is
// answered in the provider's failure format, kept in quarantine with its
// reason, and never touches the ledger.
package notify

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider/alipay"
	"github.com/payrecon/payrecon/provider/wechatpay"
)

// Verifier checks one account's notifications. Errors wrap the payrecon
// rejection sentinels (payrecon.ErrBadSignature and its siblings).
type Verifier interface {
	Verify(h http.Header, body []byte) (*payrecon.Notification, error)
}

// Ledger is what the intake needs from the store.
type Ledger interface {
	RecordNotification(ctx context.Context, raw payrecon.RawNotification, n *payrecon.Notification) (payrecon.Recorded, error)
	Quarantine(ctx context.Context, r payrecon.Rejected) error
}

// Account is one configured account as the intake sees it.
type Account struct {
	Name     string
	Provider payrecon.Provider
	Verifier Verifier
}

// AlipayVerifier adapts [alipay.Verifier] to [Verifier].
type AlipayVerifier struct{ V *alipay.Verifier }

// Verify implements [Verifier].
func (a AlipayVerifier) Verify(_ http.Header, body []byte) (*payrecon.Notification, error) {
	return a.V.Verify(body)
}

// Options tune the handler.
type Options struct {
	// MaxBody caps a request body in bytes (default 64 KiB).
	MaxBody int64
	// MaxPath caps the request path in bytes; a longer one is answered
	// 404 and not stored (default 256).
	MaxPath int
	// MaxHeader caps the request line and headers in bytes; more is
	// answered 431 and not stored (default 16 KiB).
	MaxHeader int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Observe, when set, is told the outcome of every request: result is
	// accepted, duplicate, rejected or error; reason is the rejection code.
	Observe func(account, result, reason string, elapsed time.Duration)
}

// Handler returns the handler for "/notify/{account}".
func Handler(accounts []Account, led Ledger, opt Options, logger *slog.Logger) http.Handler {
	if opt.MaxBody <= 0 {
		opt.MaxBody = 64 << 10
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.MaxPath <= 0 {
		opt.MaxPath = 256
	}
	if opt.MaxHeader <= 0 {
		opt.MaxHeader = 16 << 10
	}
	byName := make(map[string]Account, len(accounts))
	for _, a := range accounts {
		byName[a.Name] = a
	}
	h := &handler{accounts: byName, led: led, opt: opt, log: logger.With("component", "notify")}
	return h
}

type handler struct {
	accounts map[string]Account
	led      Ledger
	opt      Options
	log      *slog.Logger
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Requests over the limits cost nothing: no quarantine row, no label.
	if len(r.URL.EscapedPath()) > h.opt.MaxPath {
		http.NotFound(w, r)
		return
	}
	if headerSize(r) > h.opt.MaxHeader {
		http.Error(w, "request header fields too large", http.StatusRequestHeaderFieldsTooLarge)
		return
	}
	now := h.opt.Now()
	name := r.PathValue("account")
	acct, known := h.accounts[name]

	body, readErr := io.ReadAll(http.MaxBytesReader(w, r.Body, h.opt.MaxBody))
	var rejectErr error
	switch {
	case !known:
		rejectErr = payrecon.ErrUnknownAccount
	case r.Method != http.MethodPost:
		rejectErr = payrecon.ErrMethod
	case readErr != nil:
		var mbe *http.MaxBytesError
		if errors.As(readErr, &mbe) {
			rejectErr = payrecon.ErrTooLarge
		} else {
			rejectErr = errors.Join(payrecon.ErrMalformed, readErr)
		}
	case len(bytes.TrimSpace(body)) == 0:
		rejectErr = payrecon.ErrMalformed
	}
	var n *payrecon.Notification
	if rejectErr == nil {
		n, rejectErr = acct.Verifier.Verify(r.Header, body)
	}
	protocol := protocolOf(acct, known, body)
	if rejectErr != nil {
		h.reject(w, r, acct, name, protocol, body, now, rejectErr)
		h.observe(name, "rejected", payrecon.RejectReason(rejectErr), now)
		return
	}
	rec, err := h.led.RecordNotification(r.Context(), payrecon.RawNotification{Header: keptHeaders(r.Header), Body: body, ReceivedAt: now}, n)
	if err != nil {
		// Not durable, so not acknowledged: the provider will retry.
		h.log.Error("notification not recorded", "account", name, "provider", acct.Provider, "err", err)
		writeFailure(w, protocol, http.StatusInternalServerError, "ledger unavailable")
		h.observe(name, "error", "", now)
		return
	}
	h.log.Debug("notification accepted", "account", name, "provider", acct.Provider, "protocol", n.Protocol,
		"event_type", n.EventType, "out_trade_no", n.Event.OutTradeNo, "duplicate", rec.Duplicate, "notification_id", rec.ID)
	writeSuccess(w, protocol)
	result := "accepted"
	if rec.Duplicate {
		result = "duplicate"
	}
	h.observe(name, result, "", now)
}

// UnknownAccount is the one account name [Options.Observe] is given for
// every account that is not configured, so that a caller cannot mint
// metric labels.
const UnknownAccount = "_unknown"

func (h *handler) observe(account, result, reason string, start time.Time) {
	if h.opt.Observe == nil {
		return
	}
	if _, known := h.accounts[account]; !known {
		account = UnknownAccount
	}
	h.opt.Observe(account, result, reason, h.opt.Now().Sub(start))
}

// headerSize is the request line and headers as they came on the wire
// (HTTP/1.x), give or take the spacing.
func headerSize(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

func (h *handler) reject(w http.ResponseWriter, r *http.Request, acct Account, name, protocol string, body []byte, now time.Time, cause error) {
	reason := payrecon.RejectReason(cause)
	provider := string(acct.Provider)
	if provider == "" {
		provider = providerOf(protocol)
	}
	level := slog.LevelWarn
	if reason == "probe" {
		level = slog.LevelInfo // WeChat Pay probes on purpose; not an incident
	}
	h.log.Log(r.Context(), level, "notification rejected", "account", name, "provider", provider, "reason", reason, "err", cause)
	size := int64(len(body))
	if r.ContentLength > size {
		size = r.ContentLength
	}
	// Quarantine even if the client has gone: the record is ours.
	qctx := context.WithoutCancel(r.Context())
	if err := h.led.Quarantine(qctx, payrecon.Rejected{
		ReceivedAt: now, Account: name, Provider: provider, Reason: reason, Detail: cause.Error(),
		Method: r.Method, RemoteAddr: r.RemoteAddr, Header: keptHeaders(r.Header), Body: body, BodySize: size,
	}); err != nil {
		h.log.Error("quarantine failed", "account", name, "reason", reason, "err", err)
	}
	writeFailure(w, protocol, statusFor(reason), reason)
}

func statusFor(reason string) int {
	switch reason {
	case "bad_signature", "probe", "clock_skew":
		return http.StatusUnauthorized
	case "account_mismatch":
		return http.StatusForbidden
	case "unknown_account":
		return http.StatusNotFound
	case "method":
		return http.StatusMethodNotAllowed
	case "oversize":
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

// protocolOf decides the reply dialect: the account's provider, and for
// WeChat Pay (or an unknown account) the shape of the body.
func protocolOf(acct Account, known bool, body []byte) string {
	t := bytes.TrimLeft(body, " \t\r\n")
	isXML := len(t) > 0 && t[0] == '<'
	isJSON := len(t) > 0 && t[0] == '{'
	switch {
	case known && acct.Provider == payrecon.Alipay:
		return "alipay"
	case isXML:
		return "wechatpay-v2"
	case isJSON, known:
		return "wechatpay-v3"
	}
	return "alipay"
}

func providerOf(protocol string) string {
	if protocol == "alipay" {
		return string(payrecon.Alipay)
	}
	return string(payrecon.WeChatPay)
}

func writeSuccess(w http.ResponseWriter, protocol string) {
	switch protocol {
	case "alipay":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, alipay.ReplySuccess)
	case "wechatpay-v2":
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		io.WriteString(w, wechatpay.ReplyV2Success)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func writeFailure(w http.ResponseWriter, protocol string, status int, msg string) {
	switch protocol {
	case "alipay":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		io.WriteString(w, alipay.ReplyFailure)
	case "wechatpay-v2":
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(status)
		w.Write(wechatpay.ReplyV2Failure(msg))
	default:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(wechatpay.ReplyV3Failure(msg))
	}
}

// keptHeaders is the request header's allow-listed part.
func keptHeaders(h http.Header) http.Header { return payrecon.KeepHeaders(h) }

// Package deliver is payrecon's outbound delivery to people: alerts to ops
// chat robots and the workbook by e-mail. Every channel implements the
// one-method [Notifier]; a [Dispatcher] sends each message at most once per
// cause and window, retrying temporary failures with backoff.
//
// Channels live in subpackages (dingtalk, wecom, feishu, slack, webhook,
// email). None of them puts a secret (signing secret, webhook key, SMTP
// password) into an error or a log line.
package deliver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Attachment is a file sent with a message (channels that cannot carry
// files ignore it).
type Attachment struct {
	Name        string
	ContentType string
	Data        []byte
}

// Message is one alert or report.
type Message struct {
	// Key identifies the cause ("absent:shop-ali:2026-11-20"); a cause is
	// delivered once per channel and dedup window.
	Key      string
	Severity string // info, warning, critical
	Account  string
	Title    string
	Text     string // plain text, a few lines
	// Locale (zh or en) is the language of the message; a channel that must
	// cut it to fit says "… 另有 N 条" or "… and N more" in it.
	Locale string
	// To lists e-mail recipients (e-mail only).
	To          []string
	Attachments []Attachment
}

// Notifier delivers a message to one channel. retry reports whether a
// failure is temporary (network, 5xx, rate limit) and worth another try.
type Notifier interface {
	Notify(ctx context.Context, m Message) (retry bool, err error)
}

// Log records deliveries so each cause is sent once per window.
type Log interface {
	// Delivered reports whether (channel, key) succeeded since since.
	Delivered(ctx context.Context, channel, key string, since time.Time) (bool, error)
	// RecordDelivery stores an outcome.
	RecordDelivery(ctx context.Context, channel, key string, attempts int, sendErr error) error
}

// Dispatcher sends messages through named channels.
type Dispatcher struct {
	Channels map[string]Notifier
	Log      Log
	// Window is the dedup window (default 24h).
	Window time.Duration
	// Attempts and Backoff govern retries (default 4 attempts, 1s doubling).
	Attempts int
	Backoff  time.Duration
	Now      func() time.Time
	Logger   *slog.Logger
	// OnDelivery, when set, is told each final outcome (for metrics).
	OnDelivery func(channel string, err error)
}

// Send delivers m to every channel in names (all channels when empty). It
// returns the joined errors of channels that finally failed; a failure is
// recorded and never blocks the caller beyond the retries.
func (d *Dispatcher) Send(ctx context.Context, m Message, names ...string) error {
	if len(names) == 0 {
		for n := range d.Channels {
			names = append(names, n)
		}
	}
	window, attempts, backoff := d.Window, d.Attempts, d.Backoff
	if window <= 0 {
		window = 24 * time.Hour
	}
	if attempts <= 0 {
		attempts = 4
	}
	if backoff <= 0 {
		backoff = time.Second
	}
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	var errs []error
	for _, name := range names {
		ch, ok := d.Channels[name]
		if !ok {
			errs = append(errs, fmt.Errorf("deliver: no channel %q", name))
			continue
		}
		if done, err := d.Log.Delivered(ctx, name, m.Key, now().Add(-window)); err != nil {
			errs = append(errs, err)
			continue
		} else if done {
			continue
		}
		n, err := sendWithRetry(ctx, ch, m, attempts, backoff)
		err = Redact(err) // no URL, key or token is logged or stored
		if d.OnDelivery != nil {
			d.OnDelivery(name, err)
		}
		if rerr := d.Log.RecordDelivery(context.WithoutCancel(ctx), name, m.Key, n, err); rerr != nil {
			errs = append(errs, rerr)
		}
		if err != nil {
			if d.Logger != nil {
				d.Logger.Warn("delivery failed", "channel", name, "key", m.Key, "attempts", n, "err", err)
			}
			errs = append(errs, fmt.Errorf("deliver %s via %s: %w", m.Key, name, err))
		} else if d.Logger != nil {
			d.Logger.Info("delivered", "channel", name, "key", m.Key, "attempts", n)
		}
	}
	return errors.Join(errs...)
}

// sendWithRetry sends m through ch up to attempts times, waiting backoff, then
// twice as long, and so on, after each temporary failure. It returns the
// attempts counted (all of them when ctx ends the wait) and the last error.
func sendWithRetry(ctx context.Context, ch Notifier, m Message, attempts int, backoff time.Duration) (int, error) {
	var err error
	n := 0
	for n < attempts {
		n++
		var retry bool
		retry, err = ch.Notify(ctx, m)
		if err == nil || !retry || n == attempts {
			break
		}
		t := time.NewTimer(backoff << (n - 1))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			err = errors.Join(err, ctx.Err())
			n = attempts
		}
	}
	return n, err
}

// PostJSON posts body to rawURL and returns the status and (capped)
// response body. Transport errors are reported without the URL, which may
// carry a webhook key.
func PostJSON(ctx context.Context, hc *http.Client, rawURL string, body []byte, header http.Header) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, strings.NewReader(string(body)))
	if err != nil {
		return 0, nil, errors.New("bad webhook URL")
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return 0, nil, fmt.Errorf("post to %s: %v", RedactURL(rawURL), ue.Err)
		}
		return 0, nil, errors.New("post failed")
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, b, nil
}

// RedactURL keeps scheme and host, and drops path and query (where webhook
// keys and tokens live).
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(webhook)"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

// Retryable classifies an HTTP status: 429 and 5xx are temporary.
func Retryable(status int) bool { return status == http.StatusTooManyRequests || status >= 500 }

// CodeReply reads a robot's JSON reply whose field code is 0 on success
// (DingTalk and WeCom "errcode", Feishu "code"); retryCodes are the codes
// that mean "try again later" (rate limits, busy).
func CodeReply(robot string, status int, body []byte, code, message string, retryCodes ...int) (bool, error) {
	if status != http.StatusOK {
		return Retryable(status), fmt.Errorf("%s: HTTP %d", robot, status)
	}
	var r map[string]any
	if err := json.Unmarshal(body, &r); err != nil {
		return true, fmt.Errorf("%s: unreadable reply", robot)
	}
	n, _ := r[code].(float64)
	if n == 0 {
		return false, nil
	}
	retry := false
	for _, c := range retryCodes {
		retry = retry || int(n) == c
	}
	return retry, fmt.Errorf("%s: %s %d %v", robot, code, int(n), r[message])
}

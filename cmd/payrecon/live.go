package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/config"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/provider"
	"github.com/payrecon/payrecon/provider/wechatpay"
	"github.com/payrecon/payrecon/reports/deliver"
	"github.com/payrecon/payrecon/reports/deliver/email"
)

// liveTimeout bounds each live check.
const liveTimeout = 20 * time.Second

// liveChecker proves each credential of a config with a harmless call and
// prints one line per check; failed counts the checks that failed.
type liveChecker struct {
	out    io.Writer
	failed int
}

func (l *liveChecker) ok(name, kind, format string, args ...any) {
	fmt.Fprintf(l.out, "ok    %-20s %-10s %s\n", name, kind, fmt.Sprintf(format, args...))
}

func (l *liveChecker) fail(name, kind, format string, args ...any) {
	l.failed++
	fmt.Fprintf(l.out, "FAIL  %-20s %-10s %s\n", name, kind, fmt.Sprintf(format, args...))
}

// checkLive proves every account's keys with a query for an order that
// does not exist (the provider must answer "no such order" with a valid
// signature), SMTP by connecting and authenticating, and, with sendTest,
// each chat robot with a test message. It reports every problem, then
// fails when there was any.
func checkLive(ctx context.Context, cfg config.Config, accts []Account, getenv func(string) string, sendTest bool, stdout io.Writer) error {
	l := &liveChecker{out: stdout}
	for _, a := range accts {
		l.account(ctx, a)
	}
	hc := &http.Client{Timeout: liveTimeout}
	disp, _, err := newDeliverer(cfg, nil, getenv, hc, slog.New(slog.DiscardHandler))
	if err != nil {
		l.fail("delivery", "config", "%v", err)
	} else if disp != nil {
		l.delivery(ctx, cfg, disp.Channels, sendTest)
	}
	if l.failed > 0 {
		return fmt.Errorf("check-config -live: %d problem(s), each named above", l.failed)
	}
	return nil
}

// account queries a made-up order number: only a verified "no such order"
// proves the keys, the app or merchant id and the address.
func (l *liveChecker) account(ctx context.Context, a Account) {
	nonce := make([]byte, 8)
	rand.Read(nonce)
	no := "payrecon-check-" + hex.EncodeToString(nonce)
	ctx, cancel := context.WithTimeout(ctx, liveTimeout)
	defer cancel()
	_, err := a.Client.QueryPayment(ctx, no, "")
	method, want := "alipay.trade.query", "ACQ.TRADE_NOT_EXIST"
	if a.Provider == payrecon.WeChatPay {
		method, want = "order query", "ORDER_NOT_EXIST"
	}
	name, kind := a.Config.Name, string(a.Provider)
	switch {
	case errors.Is(err, provider.ErrNotFound):
		l.ok(name, kind, "%s of a made-up order answered %s with a valid signature: keys, ids and address work", method, want)
	case err == nil:
		l.ok(name, kind, "%s answered with a valid signature: keys, ids and address work", method)
	case provider.HintOf(err) != "":
		l.fail(name, kind, "%v", err) // the hint, then the provider's words
	default:
		l.fail(name, kind, "%s did not answer %s with a valid signature: %v", method, want, err)
	}
	if kc, ok := a.Client.(apiv3KeyChecker); ok && (err == nil || errors.Is(err, provider.ErrNotFound)) {
		l.apiv3Key(ctx, name, kind, kc) // only once the keys and ids work: it would fail alike
	}
}

// apiv3KeyChecker proves a WeChat Pay APIv3 key (*wechatpay.Client).
type apiv3KeyChecker interface {
	CheckAPIv3Key(ctx context.Context) (int, error)
}

// apiv3Key proves the APIv3 key by opening the platform certificates
// WeChat Pay seals with it. A merchant without platform certificates
// cannot prove it this way: that is said, not counted as a problem.
func (l *liveChecker) apiv3Key(ctx context.Context, name, kind string, kc apiv3KeyChecker) {
	n, err := kc.CheckAPIv3Key(ctx)
	switch {
	case err == nil:
		l.ok(name, kind, "apiv3_key_file opened the %d platform certificate(s) WeChat Pay sealed with it: notifications will decrypt", n)
	case errors.Is(err, wechatpay.ErrNoPlatformCerts):
		fmt.Fprintf(l.out, "skip  %-20s %-10s apiv3_key_file not proven: WeChat Pay hands this merchant no platform certificate to open (public key only); a wrong key shows as rejected notifications (payrecon quarantine -reason decrypt)\n", name, kind)
	case provider.HintOf(err) != "":
		l.fail(name, kind, "%v", err)
	default:
		fmt.Fprintf(l.out, "skip  %-20s %-10s apiv3_key_file not proven: GET /v3/certificates failed: %v\n", name, kind, err)
	}
}

// delivery checks SMTP (connect and authenticate; nothing is sent) and,
// with sendTest, posts a test message to each chat robot.
func (l *liveChecker) delivery(ctx context.Context, cfg config.Config, channels map[string]deliver.Notifier, sendTest bool) {
	if n, ok := channels[jobs.EmailChannel].(*email.Notifier); ok {
		cctx, cancel := context.WithTimeout(ctx, liveTimeout)
		err := n.Check(cctx)
		cancel()
		if err != nil {
			l.fail("delivery.smtp", "smtp", "%v: check delivery.smtp host, port, tls, username and password_file", err)
		} else {
			l.ok("delivery.smtp", "smtp", "%s:%d connected and authenticated (nothing sent)", n.Host, n.Port)
		}
	}
	names := make([]string, 0, len(cfg.Delivery.Channels))
	kinds := map[string]string{}
	for _, ch := range cfg.Delivery.Channels {
		names = append(names, ch.Name)
		kinds[ch.Name] = ch.Type
	}
	slices.Sort(names)
	for _, name := range names {
		if !sendTest {
			fmt.Fprintf(l.out, "skip  %-20s %-10s no test message without -send-test-alert\n", name, kinds[name])
			continue
		}
		m := deliver.Message{Key: "check-config", Severity: "info", Locale: cfg.Reports.Locale,
			Title: "payrecon: test alert", Text: "check-config -send-test-alert: this channel reaches you"}
		cctx, cancel := context.WithTimeout(ctx, liveTimeout)
		_, err := channels[name].Notify(cctx, m)
		cancel()
		if err != nil {
			l.fail(name, kinds[name], "test message not delivered: %v (check delivery.channels url or url_file, and secret_file)", err)
		} else {
			l.ok(name, kinds[name], "test message delivered")
		}
	}
}

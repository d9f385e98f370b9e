// Package demo is payrecon's guided tour (`payrecon demo`): in a fresh
// directory and on loopback only, it starts the provider emulator and
// payrecon, fires every trigger scenario at the intake, plays a business day
// with faults, runs the daily reconciliation while the bill API misbehaves,
// e-mails the workbooks to an inbox and alerts a chat robot it started,
// sends late callbacks, and prints what happened. payrecon itself is
// started through [System], which cmd provides, so the demo drives exactly
// what `payrecon serve` runs.
package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/config"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/reports/deliver/loopback"
	"github.com/payrecon/payrecon/store"
)

// System starts payrecon as `payrecon serve` would.
type System interface {
	// Start loads the config at cfgPath with its keys and serves payrecon
	// (its listen address may have port 0), logging to logger.
	Start(ctx context.Context, cfgPath string, logger *slog.Logger) (Instance, error)
}

// Instance is a running payrecon.
type Instance interface {
	Addr() string
	Ledger() *store.DB
	// Config is the configuration it runs with.
	Config() config.Config
	// Daily is the daily job wired as the config says once change has
	// been applied to a copy of it (e-mail and alerts included).
	Daily(change func(*config.Config)) (*jobs.Daily, error)
	Close() error
}

// Options tune the tour.
type Options struct {
	Trades int  // trades per provider in the business day
	Clean  bool // remove the demo directory at the end
	// Keep leaves payrecon and its console up, after the tour, until ctx
	// ends (Ctrl-C).
	Keep bool
}

// Run takes the tour, printing to stdout.
func Run(ctx context.Context, sys System, opt Options, stdout io.Writer) error {
	start := time.Now()
	dir, err := os.MkdirTemp("", "payrecon-demo-")
	if err != nil {
		return err
	}
	if opt.Clean {
		defer os.RemoveAll(dir)
	}
	fmt.Fprintf(stdout, "== payrecon demo in %s\n", dir)
	d := &demo{sys: sys, dir: dir, stdout: stdout}
	defer d.close()
	if err := d.run(ctx, opt.Trades); err != nil {
		return err
	}
	d.printConsole(ctx, opt.Keep)
	fmt.Fprintf(stdout, "== demo finished in %s", time.Since(start).Round(time.Millisecond))
	if opt.Clean {
		fmt.Fprintln(stdout)
	} else {
		fmt.Fprintf(stdout, "; explore with: payrecon runs -config %s   (rm -rf %s when done)\n", d.cfgPath, dir)
	}
	return nil
}

// demo is one run of the demo: the emulated providers, payrecon serving
// beside them, and the people it tells, all on loopback.
type demo struct {
	dir    string
	stdout io.Writer

	sys         System
	cfgPath     string
	sb          *sandbox.Sandbox
	providers   *sandbox.Server
	providerURL string
	logger      *slog.Logger
	srv         Instance
	delivery    func(*config.Config) // points the config's e-mail and alerts at the recipients
	inbox       *loopback.Inbox
	robot       *loopback.Robot
	app         *sandbox.App   // the merchant's app payrecon forwards events to
	cleanups    []func() error // run in reverse by close

	consoleToken string // signs in to the ops console
}

// demoDay is what the business day step leaves for the later ones.
type demoDay struct {
	date        payrecon.Day
	day         *sandbox.Day
	quarantined int64 // notifications rejected into quarantine that day
}

// run takes the demo's steps in order.
func (d *demo) run(ctx context.Context, trades int) error {
	if err := d.startProviders(); err != nil {
		return err
	}
	if err := d.enableConsole(); err != nil {
		return err
	}
	if err := d.startPayrecon(ctx); err != nil {
		return err
	}
	if err := d.showIntake(ctx); err != nil {
		return err
	}
	day, err := d.deliverBusinessDay(ctx, trades)
	if err != nil {
		return err
	}
	if err := d.startRecipients(); err != nil {
		return err
	}
	reps, err := d.reconcileDay(ctx, day.date)
	if err != nil {
		return err
	}
	lateAccepted, lateNew, err := d.sendLateCallbacks(ctx, day.day)
	if err != nil {
		return err
	}
	if err := d.waitForwarded(ctx); err != nil {
		return err
	}
	d.printSummary(reps, day.quarantined, lateAccepted, lateNew)
	d.printDelivered()
	return d.printForwarded(ctx)
}

// close stops what the steps started, last first.
func (d *demo) close() {
	for i := len(d.cleanups) - 1; i >= 0; i-- {
		d.cleanups[i]()
	}
}

func (d *demo) target() string { return "http://" + d.srv.Addr() }

func (d *demo) count(ctx context.Context) store.Counts {
	c, _ := d.srv.Ledger().Count(ctx)
	return c
}

// startProviders writes the sandbox merchant's keys and config and serves
// the provider emulator, whose bill API is not ready at first and then
// fails once.
func (d *demo) startProviders() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	d.providerURL = "http://" + ln.Addr().String()
	if d.cfgPath, err = sandbox.Init(d.dir, sandbox.InitOptions{Listen: "127.0.0.1:0", ServerURL: d.providerURL}); err != nil {
		return err
	}
	if d.sb, err = sandbox.Load(d.dir); err != nil {
		return err
	}
	if d.providers, err = d.sb.NewServer(sandbox.ServerFaults{BillNotReady: 1, Errors5xx: 1}); err != nil {
		return err
	}
	d.providers.SetBaseURL(d.providerURL)
	psrv := &http.Server{Handler: d.providers, ReadHeaderTimeout: 10 * time.Second}
	go psrv.Serve(ln)
	d.cleanups = append(d.cleanups, psrv.Close)
	// The merchant's app, which payrecon forwards every event to.
	if d.app, err = sandbox.StartApp(d.cfgPath, d.cfgPath, sandbox.ReceiverOptions{}); err != nil {
		return err
	}
	d.cleanups = append(d.cleanups, d.app.Close)
	return nil
}

// startPayrecon loads the sandbox config and serves payrecon, logging to a
// file in the demo directory.
func (d *demo) startPayrecon(ctx context.Context) error {
	logPath := filepath.Join(d.dir, "payrecon.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	d.cleanups = append(d.cleanups, logFile.Close)
	d.logger = slog.New(slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if d.srv, err = d.sys.Start(ctx, d.cfgPath, d.logger); err != nil {
		return err
	}
	d.cleanups = append(d.cleanups, d.srv.Close)
	fmt.Fprintf(d.stdout, "== providers emulated at %s; payrecon serving on %s (log: %s)\n", d.providerURL, d.srv.Addr(), logPath)
	fmt.Fprintf(d.stdout, "== the merchant's app verifies forwarded events at %s\n\n", d.app.URL)
	return nil
}

// showIntake fires every notification kind and fault at the intake and
// shows the ledger they leave.
func (d *demo) showIntake(ctx context.Context) error {
	fmt.Fprintf(d.stdout, "== 1. notification intake: %d trigger scenarios\n", len(sandbox.ScenarioNames()))
	var scenarioLog bytes.Buffer
	trades := func(ctx context.Context) ([]payrecon.Trade, error) {
		return d.srv.Ledger().Trades(ctx, store.TradeFilter{})
	}
	if err := d.sb.Trigger(ctx, d.target(), nil, &scenarioLog, trades); err != nil {
		d.stdout.Write(scenarioLog.Bytes())
		return err
	}
	for _, line := range bytes.Split(bytes.TrimSpace(scenarioLog.Bytes()), []byte("\n")) {
		if bytes.HasPrefix(line, []byte("sent ")) || bytes.HasPrefix(line, []byte("ledger checked")) {
			fmt.Fprintf(d.stdout, "   %s\n", line)
		}
	}
	return printLedger(ctx, d.srv.Ledger(), indent{d.stdout})
}

// deliverBusinessDay generates yesterday (Beijing time) with faults, gives
// its bills to the emulator and sends its callbacks.
func (d *demo) deliverBusinessDay(ctx context.Context, trades int) (demoDay, error) {
	date := payrecon.DayOf(time.Now()).AddDays(-1)
	bday := d.sb.GenerateDay(date.Start(), sandbox.DayOptions{Trades: trades, Seed: 20261121, Faults: true})
	d.providers.AddDay(bday)
	before := d.count(ctx)
	res, err := d.sb.DeliverDays(ctx, &http.Client{Timeout: 10 * time.Second}, d.target(), io.Discard, bday)
	if err != nil {
		return demoDay{}, fmt.Errorf("deliver the business day: %w (%v)", err, res.Unexpected)
	}
	after := d.count(ctx)
	q := after.Quarantined - before.Quarantined
	fmt.Fprintf(d.stdout, "\n== 2. business day %s: %d trades per provider; the providers sent %d notifications\n", date, trades, res.Sent)
	fmt.Fprintf(d.stdout, "   %d acknowledged into the ledger, %d rejected into quarantine (forged or tampered)\n", res.Accepted, q)
	return demoDay{date: date, day: bday, quarantined: q}, nil
}

// startRecipients starts an accountant's inbox and an ops chat robot and
// points the config's delivery at them.
func (d *demo) startRecipients() error {
	inbox, err := loopback.StartInbox(loopback.InboxOptions{TLS: "none"})
	if err != nil {
		return err
	}
	d.inbox = inbox
	d.cleanups = append(d.cleanups, inbox.Close)
	d.robot = loopback.StartRobot()
	d.cleanups = append(d.cleanups, func() error { d.robot.Close(); return nil })
	d.delivery = func(cfg *config.Config) {
		cfg.Delivery.SMTP = config.SMTP{Host: "127.0.0.1", Port: inbox.Port, TLS: "none", From: "payrecon <payrecon@example.com>"}
		cfg.Delivery.Channels = []config.Channel{{Name: "ops", Type: "wecom", URL: d.robot.URL}}
		cfg.Delivery.Alerts.Channels = []string{"ops"}
		for i := range cfg.Accounts {
			cfg.Accounts[i].EmailTo = []string{"accountant@example.com"}
		}
	}
	return nil
}

// reconcileDay runs the daily job for every account, telling people.
func (d *demo) reconcileDay(ctx context.Context, date payrecon.Day) ([]jobs.Report, error) {
	fmt.Fprintf(d.stdout, "\n== 3. daily reconciliation (bill API not ready at first and failing once, on purpose)\n")
	fmt.Fprintf(d.stdout, "   workbooks are e-mailed to an SMTP inbox on 127.0.0.1:%d; alerts go to a WeCom-style robot at %s\n", d.inbox.Port, d.robot.URL)
	daily, err := d.srv.Daily(d.delivery)
	if err != nil {
		return nil, err
	}
	var reps []jobs.Report
	for _, a := range d.srv.Config().Accounts {
		fmt.Fprintf(d.stdout, "-- %s (%s)\n", a.Name, a.Provider)
		rep, err := daily.Run(ctx, a.Name, date, jobs.RunOptions{Trigger: "demo", Progress: d.stdout})
		if err != nil {
			return nil, err
		}
		rep.WriteText(d.stdout)
		reps = append(reps, rep)
	}
	return reps, nil
}

// sendLateCallbacks sends the callbacks that arrive after the day was
// reconciled (they must change nothing) and returns how many were
// acknowledged and how many trades they added.
func (d *demo) sendLateCallbacks(ctx context.Context, day *sandbox.Day) (accepted int, newTrades int64, err error) {
	late, err := d.sb.LateDeliveries(day)
	if err != nil {
		return 0, 0, err
	}
	before := d.count(ctx)
	res, err := sandbox.Deliver(ctx, &http.Client{Timeout: 10 * time.Second}, d.target(), "late", late, io.Discard)
	if err != nil {
		return 0, 0, fmt.Errorf("late callbacks: %w", err)
	}
	after := d.count(ctx)
	return res.Accepted, after.Trades - before.Trades, nil
}

// printSummary says in short what the day's reconciliation found.
func (d *demo) printSummary(reps []jobs.Report, quarantined int64, lateAccepted int, lateNew int64) {
	var recovered, absent, review, pending, cross int
	for _, r := range reps {
		recovered += r.Outcomes[payrecon.OutcomeRecovered]
		absent += r.Outcomes[payrecon.OutcomeConfirmedAbsent]
		review += r.Outcomes[payrecon.OutcomeNeedsReview] + r.Outcomes[payrecon.OutcomeAmountMismatch]
		pending += r.Outcomes[payrecon.OutcomePending]
		cross += r.Counts["CROSS_DAY"]
	}
	w := d.stdout
	fmt.Fprintf(w, "== in short\n")
	fmt.Fprintf(w, "   dropped or rejected callbacks recovered by querying the provider: %d (ledger backfilled, source=query, audited)\n", recovered)
	fmt.Fprintf(w, "   forged or tampered notifications caught at the door: %d\n", quarantined)
	fmt.Fprintf(w, "   accepted notifications the provider denies (CONFIRMED_ABSENT): %d\n", absent)
	fmt.Fprintf(w, "   late callbacks that arrived after their trade was recovered: %d acknowledged, %d new trades (counted once)\n", lateAccepted, lateNew)
	fmt.Fprintf(w, "   mismatches needing a person (NEEDS_REVIEW): %d; held for tomorrow (PENDING): %d; carried over across midnight: %d\n", review, pending, cross)
	for _, r := range reps {
		fmt.Fprintf(w, "   callback health %s: %s\n", r.Account, r.Health)
	}
	for _, r := range reps {
		fmt.Fprintf(w, "   workbook: %s\n", r.Workbook)
	}
}

// printDelivered lists the e-mails the inbox got and the alerts the robot
// got.
func (d *demo) printDelivered() {
	w := d.stdout
	msgs, rcpts := d.inbox.Messages()
	fmt.Fprintf(w, "   e-mails delivered to the accountant's inbox: %d\n", len(msgs))
	for i, m := range msgs {
		if mm, err := mail.ReadMessage(bytes.NewReader(m)); err == nil {
			subj, _ := new(mime.WordDecoder).DecodeHeader(mm.Header.Get("Subject"))
			fmt.Fprintf(w, "     to %s: %q (%d KiB, workbook attached)\n", strings.Join(rcpts[i], ","), subj, len(m)/1024)
		}
	}
	got := d.robot.Received()
	fmt.Fprintf(w, "   alerts delivered to the ops robot: %d\n", len(got))
	for _, a := range got {
		if md, ok := a["markdown"].(map[string]any); ok {
			title, _, _ := strings.Cut(fmt.Sprint(md["content"]), "\n")
			fmt.Fprintf(w, "     %s\n", strings.Trim(title, "*"))
		}
	}
}

// waitForwarded waits (up to 30 s) until no event is pending at the
// merchant's app.
func (d *demo) waitForwarded(ctx context.Context) error {
	for range 600 {
		st, err := d.srv.Ledger().Outbox(ctx)
		if err != nil {
			return err
		}
		if st.Pending == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("forward: events still pending after 30s")
}

// printForwarded says what the merchant's app received: the events by
// type, those recovered by query, and the disputed trades.
func (d *demo) printForwarded(ctx context.Context) error {
	all, err := d.srv.Ledger().Events(ctx, store.EventFilter{})
	if err != nil {
		return err
	}
	got, _ := d.app.Events()
	byType := map[payrecon.AppEventType]int{}
	var types []payrecon.AppEventType
	query := 0
	var disputed []string
	for _, ev := range got {
		if byType[ev.Type] == 0 {
			types = append(types, ev.Type)
		}
		byType[ev.Type]++
		if ev.Source == payrecon.SourceQuery && ev.Type != payrecon.TradeDisputed {
			query++
		}
		if ev.Type == payrecon.TradeDisputed {
			disputed = append(disputed, ev.Account+" "+tradeNo(ev))
		}
	}
	slices.Sort(types)
	w := d.stdout
	fmt.Fprintf(w, "   events delivered to the merchant's app (signatures verified): %d of %d\n", len(got), len(all))
	for _, t := range types {
		fmt.Fprintf(w, "     %-18s %d\n", t, byType[t])
	}
	fmt.Fprintf(w, "   events for dropped callbacks recovered by query (source=query): %d\n", query)
	fmt.Fprintf(w, "   trade.disputed (paid per the callback, absent at the provider: do not ship): %d %s\n", len(disputed), strings.Join(disputed, ", "))
	return nil
}

// tradeNo is the out_trade_no an event's data names.
func tradeNo(ev payrecon.AppEvent) string {
	var d struct {
		OutTradeNo string `json:"out_trade_no"`
	}
	json.Unmarshal(ev.Data, &d)
	return d.OutTradeNo
}

// indent prefixes each written chunk with three spaces (for short, line-
// oriented output).
type indent struct{ w io.Writer }

func (i indent) Write(p []byte) (int, error) {
	lines := bytes.SplitAfter(p, []byte("\n"))
	for _, l := range lines {
		if len(l) == 0 {
			continue
		}
		if _, err := i.w.Write(append([]byte("   "), l...)); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// printLedger writes a short human summary of the ledger.
func printLedger(ctx context.Context, db *store.DB, w io.Writer) error {
	c, err := db.Count(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "ledger: %d notifications (%d deliveries), %d trades, %d refunds, %d transfers; %d rejected into quarantine\n",
		c.Notifications, c.Deliveries, c.Trades, c.Refunds, c.Transfers, c.Quarantined)
	q, err := db.QuarantineByReason(ctx)
	if err != nil {
		return err
	}
	if len(q) > 0 {
		fmt.Fprintf(w, "quarantine by reason:\n")
		for _, r := range q {
			fmt.Fprintf(w, "  %-18s %-18s %d\n", r.Account, r.Reason, r.Count)
		}
	}
	return nil
}

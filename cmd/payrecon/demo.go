package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/config"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/reports/deliver/loopback"
	"github.com/payrecon/payrecon/store"
)

// cmdDemo runs the whole loop in a fresh directory, on loopback only:
//  1. the provider emulator (Alipay gateway + WeChat Pay APIv3) and payrecon;
//  2. every trigger scenario (valid, duplicate, out-of-order, forged,
//     tampered, probes…) against the intake;
//  3. a business day for both accounts, with dropped, duplicated, tampered,
//     forged, ghost and late callbacks, an amount mismatch and a cross-midnight
//     trade, while the emulated bill API is not ready at first and fails once;
//  4. the daily job: download → diff → query → repair → workbook;
//  5. a short human summary.
func cmdDemo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", stderr)
	clean := fs.Bool("clean", false, "remove the demo directory at the end")
	trades := fs.Int("trades", 40, "trades per provider in the business day")
	if err := fs.Parse(args); err != nil {
		return err
	}
	start := time.Now()
	dir, err := os.MkdirTemp("", "payrecon-demo-")
	if err != nil {
		return err
	}
	if *clean {
		defer os.RemoveAll(dir)
	}
	fmt.Fprintf(stdout, "== payrecon demo in %s\n", dir)
	d := &demo{dir: dir, getenv: getenv, stdout: stdout}
	defer d.close()
	if err := d.run(ctx, *trades); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "== demo finished in %s", time.Since(start).Round(time.Millisecond))
	if *clean {
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
	getenv func(string) string
	stdout io.Writer

	cfgPath     string
	sb          *sandbox.Sandbox
	providers   *sandbox.Server
	providerURL string
	cfg         config.Config
	accts       []Account
	logger      *slog.Logger
	srv         *server
	inbox       *loopback.Inbox
	robot       *loopback.Robot
	cleanups    []func() error // run in reverse by close
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
	d.printSummary(reps, day.quarantined, lateAccepted, lateNew)
	d.printDelivered()
	return nil
}

// close stops what the steps started, last first.
func (d *demo) close() {
	for i := len(d.cleanups) - 1; i >= 0; i-- {
		d.cleanups[i]()
	}
}

func (d *demo) target() string { return "http://" + d.srv.Addr() }

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
	return nil
}

// startPayrecon loads the sandbox config and serves payrecon, logging to a
// file in the demo directory.
func (d *demo) startPayrecon(ctx context.Context) error {
	var err error
	if d.cfg, d.accts, err = loadConfig(d.cfgPath, d.getenv); err != nil {
		return err
	}
	logPath := filepath.Join(d.dir, "payrecon.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	d.cleanups = append(d.cleanups, logFile.Close)
	d.logger = newLogger(logFile, "debug")
	if d.srv, err = startServer(ctx, d.cfg, d.accts, store.Options{}, d.logger, d.getenv); err != nil {
		return err
	}
	d.cleanups = append(d.cleanups, d.srv.Close)
	d.cfg.Listen = d.srv.Addr()
	fmt.Fprintf(d.stdout, "== providers emulated at %s; payrecon serving on %s (log: %s)\n\n", d.providerURL, d.srv.Addr(), logPath)
	return nil
}

// showIntake fires every notification kind and fault at the intake and
// shows the ledger they leave.
func (d *demo) showIntake(ctx context.Context) error {
	fmt.Fprintf(d.stdout, "== 1. notification intake: %d trigger scenarios\n", len(sandbox.ScenarioNames()))
	var scenarioLog bytes.Buffer
	if err := trigger(ctx, d.sb, d.cfg, d.target(), nil, &scenarioLog); err != nil {
		d.stdout.Write(scenarioLog.Bytes())
		return err
	}
	for _, line := range bytes.Split(bytes.TrimSpace(scenarioLog.Bytes()), []byte("\n")) {
		if bytes.HasPrefix(line, []byte("sent ")) || bytes.HasPrefix(line, []byte("ledger checked")) {
			fmt.Fprintf(d.stdout, "   %s\n", line)
		}
	}
	return printLedger(ctx, d.srv.db, indent{d.stdout})
}

// deliverBusinessDay generates yesterday (Beijing time) with faults, gives
// its bills to the emulator and sends its callbacks.
func (d *demo) deliverBusinessDay(ctx context.Context, trades int) (demoDay, error) {
	date := payrecon.DayOf(time.Now()).AddDays(-1)
	bday := d.sb.GenerateDay(date.Start(), sandbox.DayOptions{Trades: trades, Seed: 20261121, Faults: true})
	d.providers.AddDay(bday)
	before, _ := d.srv.db.Count(ctx)
	res, err := d.sb.DeliverDays(ctx, &http.Client{Timeout: 10 * time.Second}, d.target(), io.Discard, bday)
	if err != nil {
		return demoDay{}, fmt.Errorf("deliver the business day: %w (%v)", err, res.Unexpected)
	}
	after, _ := d.srv.db.Count(ctx)
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
	d.cfg.Delivery.SMTP = config.SMTP{Host: "127.0.0.1", Port: inbox.Port, TLS: "none", From: "payrecon <payrecon@example.com>"}
	d.cfg.Delivery.Channels = []config.Channel{{Name: "ops", Type: "wecom", URL: d.robot.URL}}
	d.cfg.Delivery.Alerts.Channels = []string{"ops"}
	for i := range d.cfg.Accounts {
		d.cfg.Accounts[i].EmailTo = []string{"accountant@example.com"}
		d.accts[i].Config.EmailTo = d.cfg.Accounts[i].EmailTo
	}
	return nil
}

// reconcileDay runs the daily job for every account, telling people.
func (d *demo) reconcileDay(ctx context.Context, date payrecon.Day) ([]jobs.Report, error) {
	fmt.Fprintf(d.stdout, "\n== 3. daily reconciliation (bill API not ready at first and failing once, on purpose)\n")
	fmt.Fprintf(d.stdout, "   workbooks are e-mailed to an SMTP inbox on 127.0.0.1:%d; alerts go to a WeCom-style robot at %s\n", d.inbox.Port, d.robot.URL)
	daily, err := newDaily(d.cfg, d.accts, d.srv.db, d.logger)
	if err != nil {
		return nil, err
	}
	disp, alerting, err := newDeliverer(d.cfg, d.srv.db, d.getenv, &http.Client{Timeout: 10 * time.Second}, d.logger)
	if err != nil {
		return nil, err
	}
	daily.Deliver, daily.Alerts = disp, alerting
	var reps []jobs.Report
	for _, a := range d.cfg.Accounts {
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
	before, _ := d.srv.db.Count(ctx)
	res, err := sandbox.Deliver(ctx, &http.Client{Timeout: 10 * time.Second}, d.target(), "late", late, io.Discard)
	if err != nil {
		return 0, 0, fmt.Errorf("late callbacks: %w", err)
	}
	after, _ := d.srv.db.Count(ctx)
	return res.Accepted, after.Trades - before.Trades, nil
}

// printSummary says in short what the day's reconciliation found.
func (d *demo) printSummary(reps []jobs.Report, quarantined int64, lateAccepted int, lateNew int64) {
	var recovered, absent, review, pending, cross int
	for _, r := range reps {
		recovered += r.Outcomes[payrecon.OutcomeRecovered]
		absent += r.Outcomes[payrecon.OutcomeConfirmedAbsent]
		review += r.Outcomes[payrecon.OutcomeNeedsReview]
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

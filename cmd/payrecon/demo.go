package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
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

	// 1. The providers and payrecon.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	providerURL := "http://" + ln.Addr().String()
	cfgPath, err := sandbox.Init(dir, sandbox.InitOptions{Listen: "127.0.0.1:0", ServerURL: providerURL})
	if err != nil {
		return err
	}
	sb, err := sandbox.Load(dir)
	if err != nil {
		return err
	}
	sv, err := sb.NewServer(sandbox.ServerFaults{BillNotReady: 1, Errors5xx: 1})
	if err != nil {
		return err
	}
	sv.SetBaseURL(providerURL)
	psrv := &http.Server{Handler: sv, ReadHeaderTimeout: 10 * time.Second}
	go psrv.Serve(ln)
	defer psrv.Close()

	cfg, accts, err := loadConfig(cfgPath, getenv)
	if err != nil {
		return err
	}
	logPath := filepath.Join(dir, "payrecon.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	logger := newLogger(logFile, "debug")
	srv, err := startServer(ctx, cfg, accts, store.Options{}, logger, getenv)
	if err != nil {
		return err
	}
	defer srv.Close()
	cfg.Listen = srv.Addr()
	fmt.Fprintf(stdout, "== providers emulated at %s; payrecon serving on %s (log: %s)\n\n", providerURL, srv.Addr(), logPath)

	// 2. Every notification kind and fault, through the intake.
	fmt.Fprintf(stdout, "== 1. notification intake: %d trigger scenarios\n", len(sandbox.ScenarioNames()))
	var scenarioLog bytes.Buffer
	if err := trigger(ctx, sb, cfg, "http://"+srv.Addr(), nil, &scenarioLog); err != nil {
		stdout.Write(scenarioLog.Bytes())
		return err
	}
	for _, line := range bytes.Split(bytes.TrimSpace(scenarioLog.Bytes()), []byte("\n")) {
		if bytes.HasPrefix(line, []byte("sent ")) || bytes.HasPrefix(line, []byte("ledger checked")) {
			fmt.Fprintf(stdout, "   %s\n", line)
		}
	}
	if err := printLedger(ctx, srv.db, indent{stdout}); err != nil {
		return err
	}

	// 3. A business day with faults.
	y, m, d := time.Now().In(time.FixedZone("CST", 8*3600)).AddDate(0, 0, -1).Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
	bday := sb.GenerateDay(day, sandbox.DayOptions{Trades: *trades, Seed: 20261121, Faults: true})
	sv.AddDay(bday)
	before, _ := srv.db.Count(ctx)
	res, err := deliverDay(ctx, sb, bday, "http://"+srv.Addr())
	if err != nil {
		return fmt.Errorf("deliver the business day: %w (%v)", err, res.Unexpected)
	}
	after, _ := srv.db.Count(ctx)
	fmt.Fprintf(stdout, "\n== 2. business day %s: %d trades per provider; the providers sent %d notifications\n", day.Format("2006-01-02"), *trades, res.Sent)
	fmt.Fprintf(stdout, "   %d acknowledged into the ledger, %d rejected into quarantine (forged or tampered)\n", res.Accepted, after.Quarantined-before.Quarantined)

	// 4. The daily job for both accounts, telling people: an accountant's
	// inbox and an ops chat robot, both on loopback.
	inbox, err := loopback.StartInbox(loopback.InboxOptions{TLS: "none"})
	if err != nil {
		return err
	}
	defer inbox.Close()
	robot := loopback.StartRobot()
	defer robot.Close()
	cfg.Delivery.SMTP = SMTPConfig{Host: "127.0.0.1", Port: inbox.Port, TLS: "none", From: "payrecon <payrecon@example.com>"}
	cfg.Delivery.Channels = []ChannelConfig{{Name: "ops", Type: "wecom", URL: robot.URL}}
	cfg.Delivery.Alerts.Channels = []string{"ops"}
	for i := range cfg.Accounts {
		cfg.Accounts[i].EmailTo = []string{"accountant@example.com"}
		accts[i].Config.EmailTo = cfg.Accounts[i].EmailTo
	}
	fmt.Fprintf(stdout, "\n== 3. daily reconciliation (bill API not ready at first and failing once, on purpose)\n")
	fmt.Fprintf(stdout, "   workbooks are e-mailed to an SMTP inbox on 127.0.0.1:%d; alerts go to a WeCom-style robot at %s\n", inbox.Port, robot.URL)
	daily, err := newDaily(cfg, accts, srv.db, logger)
	if err != nil {
		return err
	}
	disp, alerting, err := newDeliverer(cfg, srv.db, getenv, &http.Client{Timeout: 10 * time.Second}, logger)
	if err != nil {
		return err
	}
	daily.Deliver, daily.Alerts = disp, alerting
	var reps []jobs.Report
	for _, a := range cfg.Accounts {
		fmt.Fprintf(stdout, "-- %s (%s)\n", a.Name, a.Provider)
		rep, err := daily.Run(ctx, a.Name, payrecon.DayOf(day), jobs.RunOptions{Trigger: "demo", Progress: stdout})
		if err != nil {
			return err
		}
		printReport(stdout, rep)
		reps = append(reps, rep)
	}

	// Callbacks that arrive after the day was reconciled change nothing.
	late, err := sb.LateDeliveries(bday)
	if err != nil {
		return err
	}
	steps := make([][]sandbox.Delivery, len(late))
	for i, dl := range late {
		steps[i] = []sandbox.Delivery{dl}
	}
	beforeLate, _ := srv.db.Count(ctx)
	lateRes, err := sandbox.Fire(ctx, &http.Client{Timeout: 10 * time.Second}, "http://"+srv.Addr(), []sandbox.Scenario{{Name: "late", Steps: steps}}, io.Discard)
	if err != nil {
		return fmt.Errorf("late callbacks: %w", err)
	}
	afterLate, _ := srv.db.Count(ctx)

	// 5. In short.
	var recovered, absent, review, pending, cross int
	for _, r := range reps {
		recovered += r.Outcomes[payrecon.OutcomeRecovered]
		absent += r.Outcomes[payrecon.OutcomeConfirmedAbsent]
		review += r.Outcomes[payrecon.OutcomeNeedsReview]
		pending += r.Outcomes[payrecon.OutcomePending]
		cross += r.Counts["CROSS_DAY"]
	}
	fmt.Fprintf(stdout, "== in short\n")
	fmt.Fprintf(stdout, "   dropped or rejected callbacks recovered by querying the provider: %d (ledger backfilled, source=query, audited)\n", recovered)
	fmt.Fprintf(stdout, "   forged or tampered notifications caught at the door: %d\n", after.Quarantined-before.Quarantined)
	fmt.Fprintf(stdout, "   accepted notifications the provider denies (CONFIRMED_ABSENT): %d\n", absent)
	fmt.Fprintf(stdout, "   late callbacks that arrived after their trade was recovered: %d acknowledged, %d new trades (counted once)\n", lateRes.Accepted, afterLate.Trades-beforeLate.Trades)
	fmt.Fprintf(stdout, "   mismatches needing a person (NEEDS_REVIEW): %d; held for tomorrow (PENDING): %d; carried over across midnight: %d\n", review, pending, cross)
	for _, r := range reps {
		fmt.Fprintf(stdout, "   callback health %s: %s\n", r.Account, r.Health)
	}
	for _, r := range reps {
		fmt.Fprintf(stdout, "   workbook: %s\n", r.Workbook)
	}
	msgs, rcpts := inbox.Messages()
	fmt.Fprintf(stdout, "   e-mails delivered to the accountant's inbox: %d\n", len(msgs))
	for i, m := range msgs {
		if mm, err := mail.ReadMessage(bytes.NewReader(m)); err == nil {
			subj, _ := new(mime.WordDecoder).DecodeHeader(mm.Header.Get("Subject"))
			fmt.Fprintf(stdout, "     to %s: %q (%d KiB, workbook attached)\n", strings.Join(rcpts[i], ","), subj, len(m)/1024)
		}
	}
	got := robot.Received()
	fmt.Fprintf(stdout, "   alerts delivered to the ops robot: %d\n", len(got))
	for _, a := range got {
		if md, ok := a["markdown"].(map[string]any); ok {
			title, _, _ := strings.Cut(fmt.Sprint(md["content"]), "\n")
			fmt.Fprintf(stdout, "     %s\n", strings.Trim(title, "*"))
		}
	}
	fmt.Fprintf(stdout, "== demo finished in %s", time.Since(start).Round(time.Millisecond))
	if *clean {
		fmt.Fprintln(stdout)
	} else {
		fmt.Fprintf(stdout, "; explore with: payrecon runs -config %s   (rm -rf %s when done)\n", cfgPath, dir)
	}
	return nil
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

package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/payrecon/payrecon/config"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/store"
)

func cmdSandbox(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: payrecon sandbox init|trigger|serve|receive", errUsage)
	}
	switch args[0] {
	case "init":
		fs := newFlagSet("sandbox init", stderr)
		dir := fs.String("dir", "", "directory to create")
		listen := fs.String("listen", "127.0.0.1:8080", "payrecon listen address written into the config")
		fwd := fs.String("forward-url", "http://127.0.0.1:18091/events", "the sandbox receiver's URL written into the config's forward entry (\"\": none)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *dir == "" {
			return fmt.Errorf("%w: -dir is required", errUsage)
		}
		path, err := sandbox.Init(*dir, sandbox.InitOptions{Listen: *listen})
		if err != nil {
			return err
		}
		if *fwd != "" {
			if err := addSandboxForward(path, *fwd); err != nil {
				return err
			}
		}
		fmt.Fprintf(stdout, "wrote %s\nstart payrecon:   payrecon serve -config %s\nsend it traffic:  payrecon sandbox trigger -config %s\n", path, path, path)
		return nil
	case "trigger":
		fs := newFlagSet("sandbox trigger", stderr)
		path := fs.String("config", "", "payrecon config written by sandbox init")
		dir := fs.String("sandbox-dir", "", "sandbox directory (default: the config's directory)")
		target := fs.String("url", "", "payrecon base URL (default: http://<listen> from the config)")
		list := fs.Bool("list", false, "list the scenarios and exit")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *list {
			for _, n := range sandbox.ScenarioNames() {
				fmt.Fprintln(stdout, n)
			}
			return nil
		}
		cfg, err := readConfig(*path)
		if err != nil {
			return err
		}
		if *dir == "" {
			*dir = filepath.Dir(*path)
		}
		if *target == "" {
			*target = "http://" + cfg.Listen
		}
		sb, err := sandbox.Load(*dir)
		if err != nil {
			return err
		}
		return trigger(ctx, sb, cfg, *target, fs.Args(), stdout)
	case "serve":
		return cmdSandboxServe(ctx, args[1:], stdout, stderr)
	case "receive":
		return cmdSandboxReceive(ctx, args[1:], stdout, stderr)
	}
	return fmt.Errorf("%w: unknown sandbox command %q", errUsage, args[0])
}

// cmdSandboxServe runs the provider emulator on its own: it generates a
// business day, serves the Alipay gateway and WeChat Pay APIs for it, and
// (with -notify) delivers that day's notifications to a running payrecon.
func cmdSandboxServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sandbox serve", stderr)
	dir := fs.String("dir", "", "sandbox directory written by sandbox init")
	listen := fs.String("listen", "127.0.0.1:18090", "listen address (the config's gateway/base_url point here)")
	date := fs.String("date", "", "business day to emulate, YYYY-MM-DD (default: yesterday, Beijing time)")
	trades := fs.Int("trades", 40, "trades per provider")
	faults := fs.Bool("faults", true, "dropped, duplicated, tampered, forged and ghost notifications, an amount mismatch, a cross-midnight trade")
	notifyURL := fs.String("notify", "", "payrecon base URL to deliver the day's notifications to (e.g. http://127.0.0.1:8080)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return fmt.Errorf("%w: -dir is required", errUsage)
	}
	sb, err := sandbox.Load(*dir)
	if err != nil {
		return err
	}
	day, err := parseDay(*date, time.Now())
	if err != nil {
		return err
	}
	sv, err := sb.NewServer(sandbox.ServerFaults{})
	if err != nil {
		return err
	}
	d := sb.GenerateDay(day.Start(), sandbox.DayOptions{Trades: *trades, Seed: day.Start().Unix(), Faults: *faults})
	sv.AddDay(d)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	sv.SetBaseURL("http://" + ln.Addr().String())
	srv := &http.Server{Handler: sv, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	fmt.Fprintf(stdout, "sandbox providers serving %s for %s on http://%s\n", *dir, day, ln.Addr())
	if *notifyURL != "" {
		res, err := deliverDay(ctx, sb, d, *notifyURL)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "delivered the day's notifications: %d sent, %d acknowledged, %d rejected\n", res.Sent, res.Accepted, res.Rejected)
	}
	<-ctx.Done()
	return nil
}

// deliverDay sends a generated day's notifications, as the providers
// would, and checks each reply.
func deliverDay(ctx context.Context, sb *sandbox.Sandbox, d *sandbox.Day, target string) (sandbox.Result, error) {
	ds, err := sb.Deliveries(d)
	if err != nil {
		return sandbox.Result{}, err
	}
	steps := make([][]sandbox.Delivery, len(ds))
	for i, dl := range ds {
		steps[i] = []sandbox.Delivery{dl}
	}
	return sandbox.Fire(ctx, &http.Client{Timeout: 10 * time.Second}, target, []sandbox.Scenario{{Name: "business-day", Steps: steps}}, io.Discard)
}

// trigger fires scenarios at a running payrecon and then checks the ledger
// against what each scenario must leave.
func trigger(ctx context.Context, sb *sandbox.Sandbox, cfg config.Config, target string, names []string, stdout io.Writer) error {
	scs, err := sb.Build(names)
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 10 * time.Second}
	res, fireErr := sandbox.Fire(ctx, client, target, scs, stdout)
	fmt.Fprintf(stdout, "\nsent %d notifications: %d acknowledged, %d rejected\n", res.Sent, res.Accepted, res.Rejected)
	db, err := openLedger(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	bad, err := checkExpectations(ctx, db, res.Expect)
	if err != nil {
		return err
	}
	for _, b := range bad {
		fmt.Fprintln(stdout, "LEDGER MISMATCH:", b)
	}
	if fireErr != nil {
		for _, u := range res.Unexpected {
			fmt.Fprintln(stdout, "UNEXPECTED REPLY:", u)
		}
		return fireErr
	}
	if len(bad) > 0 {
		return fmt.Errorf("%d ledger expectations not met", len(bad))
	}
	fmt.Fprintf(stdout, "ledger checked: all %d expectations met\n", len(res.Expect))
	return nil
}

func checkExpectations(ctx context.Context, db *store.DB, exp []sandbox.Expectation) ([]string, error) {
	trades, err := db.Trades(ctx, store.TradeFilter{})
	if err != nil {
		return nil, err
	}
	type key struct{ a, o string }
	got := map[key]int{}
	for i, t := range trades {
		got[key{t.Account, t.OutTradeNo}] = i
	}
	var bad []string
	for _, e := range exp {
		i, ok := got[key{e.Account, e.OutTradeNo}]
		switch {
		case e.Status == "" && ok:
			bad = append(bad, fmt.Sprintf("%s/%s must not be in the ledger (status %s)", e.Account, e.OutTradeNo, trades[i].Status))
		case e.Status == "":
		case !ok:
			bad = append(bad, fmt.Sprintf("%s/%s missing", e.Account, e.OutTradeNo))
		default:
			t := trades[i]
			if t.Status != e.Status || t.AmountFen != e.AmountFen || t.RefundedFen != e.RefundedFen {
				bad = append(bad, fmt.Sprintf("%s/%s = %s %d/%d, want %s %d/%d", e.Account, e.OutTradeNo,
					t.Status, t.AmountFen, t.RefundedFen, e.Status, e.AmountFen, e.RefundedFen))
			}
		}
	}
	return bad, nil
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

package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/config"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/store"
)

func cmdSandbox(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: payrecon sandbox init|serve|receive|trigger", errUsage)
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, "Usage:\n  payrecon sandbox init|serve|receive|trigger [flags]   (payrecon sandbox CMD -h for a command's flags)\n")
		return nil
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
		return sb.Trigger(ctx, *target, fs.Args(), stdout, scenarioTrades(cfg, getenv))
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
	apps := fs.Bool("apps", true, "spread the WeChat Pay trades over the merchant's apps (its appid and appids)")
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
	opt := sandbox.DayOptions{Trades: *trades, Seed: day.Start().Unix(), Faults: *faults}
	if *apps {
		opt.AppIDs = append([]string{sb.ID.WeChat.AppID}, sb.ID.WeChat.AppIDs...)
	}
	d := sb.GenerateDay(day.Start(), opt)
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
		res, err := sb.DeliverDays(ctx, &http.Client{Timeout: 10 * time.Second}, *notifyURL, io.Discard, d)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "delivered the day's notifications: %d sent, %d acknowledged, %d rejected\n", res.Sent, res.Accepted, res.Rejected)
	}
	<-ctx.Done()
	return nil
}

// scenarioTrades reads the trades of the ledger cfg names, for checking
// what scenarios left.
func scenarioTrades(cfg config.Config, getenv func(string) string) func(context.Context) ([]payrecon.Trade, error) {
	return func(ctx context.Context) ([]payrecon.Trade, error) {
		db, err := openLedger(ctx, cfg, getenv)
		if err != nil {
			return nil, err
		}
		defer db.Close()
		return db.Trades(ctx, store.TradeFilter{})
	}
}

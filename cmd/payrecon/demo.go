package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/store"
)

// cmdDemo runs the whole intake loop in a temporary directory: sandbox keys
// and config, payrecon serving on a free loopback port, every trigger
// scenario (valid, duplicate, out-of-order, forged, tampered, probes), and
// a summary of what the ledger holds and what was rejected.
func cmdDemo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", stderr)
	keep := fs.Bool("keep", false, "keep the demo directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	start := time.Now()
	dir, err := os.MkdirTemp("", "payrecon-demo-")
	if err != nil {
		return err
	}
	if !*keep {
		defer os.RemoveAll(dir)
	}
	fmt.Fprintf(stdout, "== payrecon demo in %s\n", dir)
	cfgPath, err := sandbox.Init(dir, sandbox.InitOptions{Listen: "127.0.0.1:0"})
	if err != nil {
		return err
	}
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
	srv, err := startServer(ctx, cfg, accts, store.Options{}, newLogger(logFile, "debug"))
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Fprintf(stdout, "== payrecon serving on %s (log: %s)\n", srv.Addr(), logPath)
	fmt.Fprintf(stdout, "== sandbox: firing %d scenarios at POST /notify/{account}\n\n", len(sandbox.ScenarioNames()))
	sb, err := sandbox.Load(dir)
	if err != nil {
		return err
	}
	cfg.Listen = srv.Addr()
	if err := trigger(ctx, sb, cfg, "http://"+srv.Addr(), nil, stdout); err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	if err := printLedger(ctx, srv.db, stdout); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "\n== trades (payrecon trades):")
	if err := cmdTrades(ctx, []string{"-config", cfgPath}, getenv, stdout, stderr); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n== demo finished in %s\n", time.Since(start).Round(time.Millisecond))
	if *keep {
		fmt.Fprintf(stdout, "kept %s; try: payrecon trades -config %s -json\n", dir, cfgPath)
	}
	return nil
}

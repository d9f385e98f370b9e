package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/provider/sandbox/sandboxtest"
	"github.com/payrecon/payrecon/reports/deliver/loopback"
)

// runBinFail runs payrecon, bounded by limit, expects it to fail, and
// returns its combined output and how long it took.
func runBinFail(t *testing.T, bin string, limit time.Duration, args ...string) (string, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	if ctx.Err() != nil {
		t.Fatalf("payrecon %s still running after %s (a retry loop?)\n%s", strings.Join(args, " "), limit, out.String())
	}
	if err == nil {
		t.Fatalf("payrecon %s succeeded, want a failure\n%s", strings.Join(args, " "), out.String())
	}
	return out.String(), took
}

// editConfig replaces old by new in the config (the test fails if old is
// not there).
func editConfig(t *testing.T, cfgPath, old, new string) {
	t.Helper()
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("config has no %q", old)
	}
	if err := os.WriteFile(cfgPath, bytes.ReplaceAll(b, []byte(old), []byte(new)), 0o600); err != nil {
		t.Fatal(err)
	}
}

// productionRetry sets the default bill retry (10m) and deadline (4h), so
// a failure classified as "not ready" would keep the run waiting.
func productionRetry(t *testing.T, cfgPath string) {
	editConfig(t, cfgPath, "bill_retry_interval: 1s", "bill_retry_interval: 10m")
	editConfig(t, cfgPath, "bill_deadline: 20s", "bill_deadline: 4h")
}

// TestConnectionRefusedFailsAtOnce: an account pointed at a loopback port
// nobody listens on fails its run at once, saying in plain words what to
// check, instead of retrying "not available yet" until the deadline.
func TestConnectionRefusedFailsAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	fx := sandboxtest.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	sandboxtest.PointConfig(t, fx.Config, "http://"+addr)
	productionRetry(t, fx.Config)

	for _, c := range []struct{ account, want string }{
		{"sandbox-wx", "cannot connect to WeChat Pay at " + addr + " (connection refused): check base_url"},
		{"sandbox-ali", "cannot connect to Alipay at " + addr + " (connection refused): check gateway"},
	} {
		out, took := runBinFail(t, bin, time.Minute, "reconcile", "-config", fx.Config, "-account", c.account, "-date", "2026-11-20")
		if !strings.Contains(out, c.want) || strings.Contains(out, "not available yet") {
			t.Fatalf("%s: want %q\n%s", c.account, c.want, out)
		}
		if took > 20*time.Second {
			t.Fatalf("%s: took %s to fail", c.account, took)
		}
	}
	if runs := runBin(t, bin, "runs", "-config", fx.Config, "-json"); strings.Count(runs, `"status":"failed"`) != 2 {
		t.Fatalf("runs:\n%s", runs)
	}
}

// TestWrongMerchantSerialMisconfigured: a wrong merchant_serial gets WeChat
// Pay's 401 SIGN_ERROR; the run fails at once with the plain-words cause
// (no temp-file path that reads like a disk error), and ops get one alert
// for it however many days fail for the same cause.
func TestWrongMerchantSerialMisconfigured(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	fx := sandboxtest.New(t)
	day := fx.GenerateDay(e2eDay, sandbox.DayOptions{Trades: 3, Seed: 1})
	fx.Serve(t, sandbox.ServerFaults{}, day)
	productionRetry(t, fx.Config)
	editConfig(t, fx.Config, `merchant_serial: "A7F4E9F7F5DC5FF1FF8A4C6AF70532E34DCADB55"`, `merchant_serial: "1111111111111111111111111111111111111111"`)
	robot := loopback.StartRobot()
	t.Cleanup(robot.Close)
	appendConfig(t, fx.Config, fmt.Sprintf("delivery:\n  channels:\n    - {name: ops, type: wecom, url: %q}\n  alerts:\n    channels: [ops]\n", robot.URL))

	const hint = "WeChat Pay rejected our request signature: check mchid, merchant_serial and merchant_private_key_file"
	for _, date := range []string{"2026-11-20", "2026-11-19"} {
		out, took := runBinFail(t, bin, time.Minute, "reconcile", "-config", fx.Config, "-account", "sandbox-wx", "-date", date)
		if !strings.Contains(out, hint) || !strings.Contains(out, "401 SIGN_ERROR") || strings.Contains(out, ".download") {
			t.Fatalf("%s: want %q\n%s", date, hint, out)
		}
		if took > 20*time.Second {
			t.Fatalf("%s: took %s to fail", date, took)
		}
	}
	got := robot.Received()
	if len(got) != 1 {
		t.Fatalf("robot got %d messages, want 1: %v", len(got), got)
	}
	if text := fmt.Sprint(got[0]); !strings.Contains(text, hint) {
		t.Fatalf("alert does not say the cause: %s", text)
	}
}

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/provider/sandbox/sandboxtest"
)

// runBinErr runs the binary and returns its combined output and error.
func runBinErr(bin string, args ...string) (string, error) {
	out, err := exec.Command(bin, args...).CombinedOutput()
	return string(out), err
}

// jsonLines decodes one JSON object per line of out into Ts.
func jsonLines[T any](t *testing.T, out string) []T {
	t.Helper()
	var all []T
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("%v: %s", err, sc.Text())
		}
		all = append(all, v)
	}
	return all
}

// dirFiles lists every file under dir (none when it does not exist).
func dirFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if os.IsNotExist(err) {
			return filepath.SkipDir
		}
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestImportBillRefusesForeignBill (issue 10): a bill whose rows are of
// another day than -date, or of another merchant, app or provider than the
// account, is refused with a clear message before anything is archived or
// recorded: archive dir and ledger unchanged.
func TestImportBillRefusesForeignBill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	fx := sandboxtest.New(t)
	dir, cfgPath, sb := fx.Dir, fx.Config, fx.Sandbox
	day := sb.GenerateDay(e2eDay, sandbox.DayOptions{Trades: 5, Seed: 1})
	write := func(name string, fill func(b *bytes.Buffer) error) string {
		var b bytes.Buffer
		if err := fill(&b); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	aliZip := write("ali.zip", func(b *bytes.Buffer) error {
		return sandbox.WriteAlipayBill(b, sb.ID.Alipay.SellerID, e2eDay, day.BillRows(payrecon.Alipay), sandbox.BillOptions{})
	})
	otherPID := write("ali-other.zip", func(b *bytes.Buffer) error {
		return sandbox.WriteAlipayBill(b, "2088999999999999", e2eDay, day.BillRows(payrecon.Alipay), sandbox.BillOptions{})
	})
	wxCSV := write("wx.csv", func(b *bytes.Buffer) error {
		return sandbox.WriteWeChatBill(b, sb.ID.WeChat.MchID, sb.ID.WeChat.AppID, day.BillRows(payrecon.WeChatPay), sandbox.BillOptions{})
	})
	otherMch := write("wx-other.csv", func(b *bytes.Buffer) error {
		return sandbox.WriteWeChatBill(b, "1900000999", sb.ID.WeChat.AppID, day.BillRows(payrecon.WeChatPay), sandbox.BillOptions{})
	})
	otherApp := write("wx-app.csv", func(b *bytes.Buffer) error {
		return sandbox.WriteWeChatBill(b, sb.ID.WeChat.MchID, "wx0000000000000bad", day.BillRows(payrecon.WeChatPay), sandbox.BillOptions{})
	})
	serveProviders(t, sb, cfgPath, sandbox.ServerFaults{})

	for _, tc := range []struct {
		name, account, date, file, want string
	}{
		{"another day", "sandbox-ali", "2026-11-19", aliZip, "bill refused: its rows are for 2026-11-20, not -date 2026-11-19"},
		{"another day wechat", "sandbox-wx", "2026-11-21", wxCSV, "bill refused: its rows are for 2026-11-20, not -date 2026-11-21"},
		{"another alipay merchant", "sandbox-ali", "2026-11-20", otherPID, "bill refused: it is the bill of merchant 20889999999999990156, account sandbox-ali is merchant " + sb.ID.Alipay.SellerID},
		{"another wechat merchant", "sandbox-wx", "2026-11-20", otherMch, "bill refused: it is the bill of merchant 1900000999, account sandbox-wx is merchant " + sb.ID.WeChat.MchID},
		{"another app", "sandbox-wx", "2026-11-20", otherApp, "is for app wx0000000000000bad, not one of account sandbox-wx's apps"},
		{"wechat bill for alipay", "sandbox-ali", "2026-11-20", wxCSV, "is a wechatpay bill, account sandbox-ali is alipay"},
		{"alipay bill for wechat", "sandbox-wx", "2026-11-20", aliZip, "is a alipay bill, account sandbox-wx is wechatpay"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runBinErr(bin, "import-bill", "-config", cfgPath, "-account", tc.account, "-date", tc.date, tc.file)
			if err == nil || !strings.Contains(out, tc.want) || !strings.Contains(out, "nothing was archived") {
				t.Fatalf("import-bill %s: %v\n%s\nwant %q", tc.name, err, out, tc.want)
			}
			if files := dirFiles(t, filepath.Join(dir, "var", "bills")); len(files) != 0 {
				t.Fatalf("a refused bill was archived: %v", files)
			}
			if files := dirFiles(t, filepath.Join(dir, "var", "reports")); len(files) != 0 {
				t.Fatalf("a refused bill wrote: %v", files)
			}
			if runs := runBin(t, bin, "runs", "-config", cfgPath, "-json"); strings.TrimSpace(runs) != "" {
				t.Fatalf("a refused bill recorded runs: %s", runs)
			}
		})
	}
	// The account's own bill of the day is imported.
	if out := runBin(t, bin, "import-bill", "-config", cfgPath, "-account", "sandbox-ali", "-date", "2026-11-20", aliZip); !strings.Contains(out, "MISSING_LOCAL=6") {
		t.Fatalf("the right bill:\n%s", out)
	}
}

// TestConcurrentReconcileRefused (issue 10): two `reconcile` of one day at
// once: the second fails at once naming the pid, host and start of the
// first, which finishes; read-only commands work meanwhile.
func TestConcurrentReconcileRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	fx := sandboxtest.New(t)
	cfgPath, sb := fx.Config, fx.Sandbox
	day := sb.GenerateDay(e2eDay, sandbox.DayOptions{Trades: 5, Seed: 1})
	serveProviders(t, sb, cfgPath, sandbox.ServerFaults{Slow: 2 * time.Second}, day) // every provider answer takes 2 s

	var firstOut bytes.Buffer
	first := exec.Command(bin, "reconcile", "-config", cfgPath, "-account", "sandbox-ali", "-date", "2026-11-20")
	first.Stdout, first.Stderr = &firstOut, &firstOut
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- first.Wait() }()
	t.Cleanup(func() { first.Process.Kill() })
	// Wait (bounded) until the first run is under way.
	deadline := time.Now().Add(30 * time.Second)
	for {
		runs := jsonLines[payrecon.Run](t, runBin(t, bin, "runs", "-config", cfgPath, "-json"))
		if len(runs) == 1 && runs[0].Status == payrecon.RunRunning {
			break
		}
		if time.Now().After(deadline) || len(runs) > 1 {
			t.Fatalf("the first run is not under way: %+v\n%s", runs, firstOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	start := time.Now()
	out, err := runBinErr(bin, "reconcile", "-config", cfgPath, "-account", "sandbox-ali", "-date", "2026-11-20")
	host, _ := os.Hostname()
	want := "account sandbox-ali day 2026-11-20 is being reconciled by pid " + strconv.Itoa(first.Process.Pid) + " on " + host + " since 2026-"
	if err == nil || !strings.Contains(out, want) || strings.Contains(out, "bill:") {
		t.Fatalf("second reconcile: %v\n%s\nwant %q", err, out, want)
	}
	t.Logf("second reconcile refused in %v", time.Since(start))
	// Read-only commands work while the day is leased.
	runBin(t, bin, "trades", "-config", cfgPath, "-date", "2026-11-20")
	runBin(t, bin, "runs", "-config", cfgPath)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("first reconcile: %v\n%s", err, firstOut.String())
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("first reconcile did not finish")
	}
	runs := jsonLines[payrecon.Run](t, runBin(t, bin, "runs", "-config", cfgPath, "-json"))
	if len(runs) != 1 || runs[0].Status != payrecon.RunOK {
		t.Fatalf("runs: %+v (want the first one only, ok)", runs)
	}
	// Released: the day can be run again.
	runBin(t, bin, "reconcile", "-config", cfgPath, "-account", "sandbox-ali", "-date", "2026-11-20")
}

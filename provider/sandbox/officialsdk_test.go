package sandbox_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider/alipay"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/provider/sandbox/sandboxtest"
	"github.com/payrecon/payrecon/provider/wechatpay"
)

// officialSDKs are the npm packages testdata/officialsdk.js drives.
var officialSDKs = []string{"alipay-sdk@4", "wechatpay-axios-plugin@0.9"}

// installNode returns node and a directory holding the official SDK
// packages, or skips the test where node, npm or the registry is absent.
func installNode(t *testing.T) (node, modules string) {
	t.Helper()
	if testing.Short() {
		t.Skip("installs npm packages")
	}
	node, err := exec.LookPath("node")
	npm, err2 := exec.LookPath("npm")
	if err != nil || err2 != nil {
		t.Skip("node or npm not installed")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	args := append([]string{"install", "--no-audit", "--no-fund", "--no-save", "--prefix", dir}, officialSDKs...)
	if out, err := exec.CommandContext(ctx, npm, args...).CombinedOutput(); err != nil {
		t.Skipf("npm install %v: %v\n%s", officialSDKs, err, out)
	}
	return node, filepath.Join(dir, "node_modules")
}

// TestOfficialNodeSDKs points merchant code written with the providers'
// official Node SDKs at the emulator: each queries a trade and a missing
// trade, asks for the bill URL and downloads the bill, verifying every
// signed answer with the sandbox's keys as a merchant would.
func TestOfficialNodeSDKs(t *testing.T) {
	node, modules := installNode(t)
	f := sandboxtest.New(t)
	d := f.GenerateDay(day, sandbox.DayOptions{Trades: 12, Seed: 5})
	f.Serve(t, sandbox.ServerFaults{}, d)
	trade := map[payrecon.Provider]*sandbox.Trade{}
	for _, tr := range d.Trades {
		if trade[tr.Provider] == nil && !tr.PaidAt.IsZero() && len(tr.Refunds) == 0 {
			trade[tr.Provider] = tr
		}
	}
	if trade[payrecon.Alipay] == nil || trade[payrecon.WeChatPay] == nil {
		t.Fatal("the day has no plain paid trade at each provider")
	}
	idJSON, err := os.ReadFile(filepath.Join(f.Dir, "sandbox", "identity.json"))
	if err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs(filepath.Join("testdata", "officialsdk.js"))
	if err != nil {
		t.Fatal(err)
	}
	outDir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules, "SANDBOX_URL="+f.URL, "SANDBOX_KEYS="+filepath.Join(f.Dir, "keys"),
		"SANDBOX_ID="+string(idJSON), "ALIPAY_TRADE="+trade[payrecon.Alipay].OutTradeNo,
		"WECHAT_TRADE="+trade[payrecon.WeChatPay].OutTradeNo, "BILL_DATE="+day.Format("2006-01-02"), "OUT_DIR="+outDir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s\n%s", err, stdout, stderr.String())
	}
	t.Logf("node:\n%s", stdout)
	got := map[string]map[string]any{}
	sc := bufio.NewScanner(bytes.NewReader(stdout))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("node printed %q: %v", sc.Text(), err)
		}
		got[line["check"].(string)] = line
	}
	checkNodeAnswers(t, got, trade, f.ID)
	checkNodeBills(t, outDir, d)
}

// checkNodeAnswers compares what the SDKs saw with what the emulator
// holds.
func checkNodeAnswers(t *testing.T, got map[string]map[string]any, trade map[payrecon.Provider]*sandbox.Trade, id sandbox.Identity) {
	t.Helper()
	ali, wx := trade[payrecon.Alipay], trade[payrecon.WeChatPay]
	want := map[string]map[string]any{
		"alipay query":         {"code": "10000", "out_trade_no": ali.OutTradeNo, "trade_status": "TRADE_SUCCESS", "total_amount": ali.AmountFen.Yuan()},
		"alipay missing":       {"code": "40004", "sub_code": "ACQ.TRADE_NOT_EXIST"},
		"alipay bill url":      {"code": "10000", "has_url": true},
		"alipay bill":          {"status": 200.0},
		"alipay bad signature": {"code": "40002", "sub_code": "isv.invalid-signature"},
	}
	for mode, serial := range map[string]string{"platform": id.WeChat.PlatformSerial, "public key": id.WeChat.PublicKeyID} {
		want["wechatpay query "+mode] = map[string]any{"status": 200.0, "serial": serial, "out_trade_no": wx.OutTradeNo, "trade_state": "SUCCESS", "total": float64(wx.AmountFen)}
		want["wechatpay missing "+mode] = map[string]any{"status": 404.0, "code": "ORDER_NOT_EXIST"}
		want["wechatpay bill url "+mode] = map[string]any{"status": 200.0, "hash_type": "SHA1", "has_url": true}
		want["wechatpay bill "+mode] = map[string]any{"status": 200.0, "hash_ok": true}
		want["wechatpay certificates "+mode] = map[string]any{"status": 200.0, "count": 1.0, "serial": id.WeChat.PlatformSerial,
			"algorithm": "AEAD_AES_256_GCM", "same_pem": true}
	}
	for check, fields := range want {
		line, ok := got[check]
		if !ok {
			t.Errorf("%s: not run", check)
			continue
		}
		for k, v := range fields {
			if line[k] != v {
				t.Errorf("%s: %s = %v, want %v", check, k, line[k], v)
			}
		}
	}
}

// checkNodeBills parses the bills the SDKs downloaded and counts their
// rows against the day's.
func checkNodeBills(t *testing.T, dir string, d *sandbox.Day) {
	t.Helper()
	count := func(p payrecon.Provider) (n int) {
		for range d.BillRows(p) {
			n++
		}
		return n
	}
	zip, err := os.ReadFile(filepath.Join(dir, "alipay.csv.zip"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	if _, err := alipay.ParseBillZip(bytes.NewReader(zip), int64(len(zip)), func(payrecon.BillEntry) error { n++; return nil }); err != nil || n != count(payrecon.Alipay) {
		t.Errorf("alipay bill via alipay-sdk: %d rows, want %d, %v", n, count(payrecon.Alipay), err)
	}
	for _, mode := range []string{"platform", "public key"} {
		csv, err := os.ReadFile(filepath.Join(dir, "wechatpay-"+mode+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		if _, err := wechatpay.ParseBill(bytes.NewReader(csv), func(payrecon.BillEntry) error { n++; return nil }); err != nil || n != count(payrecon.WeChatPay) {
			t.Errorf("wechatpay bill via wechatpay-axios-plugin (%s): %d rows, want %d, %v", mode, n, count(payrecon.WeChatPay), err)
		}
	}
}

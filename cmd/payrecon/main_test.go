package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payrecon/payrecon/config"
	"github.com/payrecon/payrecon/provider/sandbox/sandboxtest"
	"github.com/payrecon/payrecon/store"
)

// copySandbox copies the committed sandbox fixture into a fresh directory
// (the config's database path is relative to it) and returns the config.
func copySandbox(t *testing.T) (dir, cfgPath string) { return sandboxtest.Copy(t) }

func noenv(string) string { return "" }

func TestCheckConfig(t *testing.T) {
	_, cfg := copySandbox(t)
	var out bytes.Buffer
	if err := run(t.Context(), []string{"check-config", "-config", cfg}, noenv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "POST /notify/sandbox-ali") || !strings.Contains(out.String(), "POST /notify/sandbox-wx") {
		t.Fatalf("output: %s", out.String())
	}
}

// TestConfigErrors: each bad config fails with the field named and the
// reason, and never with key material.
func TestConfigErrors(t *testing.T) {
	dir, cfgPath := copySandbox(t)
	base, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	secret := "S3CRET-S3CRET-S3CRET-S3CRET-31b" // 31 bytes
	if err := os.WriteFile(filepath.Join(dir, "keys", "short.key"), []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "keys", "notakey.pem"), []byte("PRIVATE "+secret), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, from, to, want string
	}{
		{"unknown key", "timezone: Asia/Shanghai", "timezone: Asia/Shanghai\nlisten_port: 80", `bad.yaml:5: unknown field "listen_port"`},
		{"bad listen", "listen: 127.0.0.1:8080", "listen: nowhere", "listen: want host:port"},
		{"bad timezone", "timezone: Asia/Shanghai", "timezone: Mars/Olympus", "timezone: unknown time zone"},
		{"bad provider", "provider: alipay", "provider: paypal", "accounts[0].provider: want alipay or wechatpay"},
		{"missing app_id", `app_id: "2021000000000001"`, "", "accounts[0].app_id: required"},
		{"apiv3 key size", "apiv3_key_file: keys/apiv3.key", "apiv3_key_file: keys/short.key", "accounts[1].apiv3_key_file: the APIv3 key must be exactly 32 bytes (got 31)"},
		{"missing key file", "apiv2_key_file: keys/apiv2.key", "apiv2_key_file: keys/nope.key", "accounts[1].apiv2_key_file: cannot read"},
		{"bad platform cert", "platform_cert_files: [keys/wechatpay_platform.pem]", "platform_cert_files: [keys/wechatpay_platform.pem, keys/short.key]", "accounts[1].platform_cert_files[1]: no parsable certificate"},
		{"not a key", "app_private_key_file: keys/alipay_app_private.pem", "app_private_key_file: keys/notakey.pem", "accounts[0].app_private_key_file: not an RSA private key"},
		{"env secret empty", "apiv3_key_file: keys/apiv3.key", "apiv3_key_file: env:PAYRECON_APIV3", "environment variable PAYRECON_APIV3 is empty"},
		{"bad locale", "locale: zh", "locale: fr", "reports.locale: want zh or en"},
		{"bad schedule", `schedule: "CRON_TZ=Asia/Shanghai 30 10 * * *"`, `schedule: "every day"`, "reconcile.schedule: bad cron spec"},
		{"bad duration", "query_interval: 10ms", "query_interval: soon", "reconcile.query_interval: want a duration"},
		{"bad fee rate", `app_id: "2021000000000001"`, "app_id: \"2021000000000001\"\n    fee_rate: \"0.6\"", "accounts[0].fee_rate: want a percentage"},
		{"bad memory limit", "timezone: Asia/Shanghai", "timezone: Asia/Shanghai\nmemory_limit: lots", "memory_limit: want a size"},
		{"bad channel type", "accounts:", "delivery:\n  channels:\n    - {name: ops, type: pager, url: http://127.0.0.1/x}\naccounts:", "delivery.channels[0].type: want dingtalk, wecom, feishu, slack or webhook"},
		{"unknown alert channel", "accounts:", "delivery:\n  alerts:\n    channels: [nowhere]\naccounts:", "delivery.alerts.channels[0]: no channel named \"nowhere\""},
		{"email without smtp", `app_id: "2021000000000001"`, "app_id: \"2021000000000001\"\n    email_to: [a@example.com]", "accounts[0].email_to: needs delivery.smtp.host"},
		{"bad sweep tiers", "accounts:", "sweep:\n  tiers: 10m/1m, 1m/2m\naccounts:", "sweep.tiers: want every/until pairs"},
		{"wrong provider field", "mchid: \"1900000001\"", "mchid: \"1900000001\"\n    seller_id: \"2088\"", "accounts[1].seller_id: is an Alipay field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := strings.Replace(string(base), tc.from, tc.to, 1)
			if cfg == string(base) {
				t.Fatalf("replacement %q did not apply", tc.from)
			}
			p := filepath.Join(dir, "bad.yaml")
			if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			err := run(t.Context(), []string{"check-config", "-config", p}, noenv, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "S3CRET") {
				t.Fatalf("secret in error: %v", err)
			}
		})
	}
}

func TestSecretFromEnv(t *testing.T) {
	dir, cfgPath := copySandbox(t)
	key, err := os.ReadFile(filepath.Join(dir, "keys", "apiv3.key"))
	if err != nil {
		t.Fatal(err)
	}
	base, _ := os.ReadFile(cfgPath)
	cfg := strings.Replace(string(base), "apiv3_key_file: keys/apiv3.key", "apiv3_key_file: env:PAYRECON_APIV3", 1)
	os.WriteFile(cfgPath, []byte(cfg), 0o600)
	getenv := func(k string) string {
		if k == "PAYRECON_APIV3" {
			return string(key)
		}
		return ""
	}
	if err := run(t.Context(), []string{"check-config", "-config", cfgPath}, getenv, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"frobnicate"}, {"trades"}, {"serve"}, {"sandbox"}, {"sandbox", "trigger"}} {
		if err := run(t.Context(), args, noenv, io.Discard, io.Discard); !errors.Is(err, errUsage) {
			t.Errorf("%v: err = %v, want usage error", args, err)
		}
	}
	var out bytes.Buffer
	if err := run(t.Context(), []string{"version"}, noenv, &out, io.Discard); err != nil || !strings.HasPrefix(out.String(), "payrecon ") {
		t.Fatalf("version: %q %v", out.String(), err)
	}
}

// TestServeTriggerTrades runs "serve", "sandbox trigger" and "trades -json"
// through run, as a user would from the shell.
func TestServeTriggerTrades(t *testing.T) {
	_, cfgPath := copySandbox(t)
	addr, _, stop := startServe(t, cfgPath)

	var out bytes.Buffer
	if err := run(t.Context(), []string{"sandbox", "trigger", "-config", cfgPath, "-url", "http://" + addr}, noenv, &out, io.Discard); err != nil {
		t.Fatalf("trigger: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "expectations met") {
		t.Fatalf("trigger output:\n%s", out.String())
	}
	out.Reset()
	if err := run(t.Context(), []string{"trades", "-config", cfgPath, "-account", "sandbox-wx", "-json"}, noenv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) < 5 {
		t.Fatalf("trades -json: %d lines", len(lines))
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"account", "provider", "out_trade_no", "provider_trade_no", "status", "amount_fen", "refunded_fen", "paid_at", "source"} {
			if _, ok := m[k]; !ok {
				t.Fatalf("trades -json line lacks %q: %s", k, l)
			}
		}
		if m["account"] != "sandbox-wx" || m["source"] != "notify" {
			t.Fatalf("line %s", l)
		}
		if p, _ := m["paid_at"].(string); p != "" {
			if _, err := time.Parse(time.RFC3339, p); err != nil || !strings.HasSuffix(p, "+08:00") {
				t.Fatalf("paid_at %q is not RFC 3339 in Asia/Shanghai", p)
			}
		}
	}
	if err := run(t.Context(), []string{"trades", "-config", cfgPath, "-date", "2026/11/20"}, noenv, io.Discard, io.Discard); err == nil {
		t.Fatal("bad -date accepted")
	}
	stop()
}

// startServe runs "payrecon serve" in-process on a free port and returns
// its address and logs; stop ends it and checks it exited cleanly.
func startServe(t *testing.T, cfgPath string) (addr string, logs *syncBuffer, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	logs = &syncBuffer{}
	served := make(chan error, 1)
	go func() {
		served <- run(ctx, []string{"serve", "-config", cfgPath, "-listen", "127.0.0.1:0"}, noenv, io.Discard, logs)
	}()
	addr = waitAddr(t, logs, served)
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	}
	t.Cleanup(stop)
	return addr, logs, stop
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitAddr waits for serve's "serving addr=…" log line.
func waitAddr(t *testing.T, logs interface{ String() string }, served <-chan error) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-served:
			t.Fatalf("serve exited: %v\n%s", err, logs.String())
		default:
		}
		if _, rest, ok := strings.Cut(logs.String(), "msg=serving addr="); ok {
			return strings.Fields(rest)[0]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("serve did not start:\n%s", logs.String())
	return ""
}

// ledgerTrades opens a ledger file read-side for assertions.
func ledgerTrades(t *testing.T, path string) map[string]bool {
	t.Helper()
	db, err := store.Open(t.Context(), path, store.Options{}, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ts, err := db.Trades(t.Context(), store.TradeFilter{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, tr := range ts {
		out[tr.OutTradeNo] = true
	}
	return out
}

// TestExampleConfig keeps payrecon.example.yaml parseable and valid.
func TestExampleConfig(t *testing.T) {
	cfg, err := config.Read(filepath.Join("..", "..", "payrecon.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Accounts) != 2 || cfg.Accounts[0].Provider != "alipay" || cfg.Accounts[1].Provider != "wechatpay" {
		t.Fatalf("accounts = %+v", cfg.Accounts)
	}
}

// TestDemo takes the guided tour through run, as `payrecon demo` does, and
// checks its summary against the faults the sandbox day carries (per
// provider: 2 dropped, 1 tampered and 1 delayed payment callback and a
// dropped refund callback recovered; a forged and a tampered notification
// caught; a ghost denied).
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole tour")
	}
	var out bytes.Buffer
	if err := run(t.Context(), []string{"demo", "-clean", "-trades", "20"}, noenv, &out, io.Discard); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{
		"recovered by querying the provider: 10 ",
		"caught at the door: 4\n",
		"the provider denies (CONFIRMED_ABSENT): 2\n",
		"late callbacks that arrived after their trade was recovered: 2 acknowledged, 0 new trades",
		"e-mails delivered to the accountant's inbox: 2\n",
		"events for dropped callbacks recovered by query (source=query): 10\n",
		"trade.disputed (paid per the callback, absent at the provider: do not ship): 2 ",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
	// Every event in the outbox reached the merchant's app.
	if m := regexp.MustCompile(`events delivered to the merchant's app \(signatures verified\): (\d+) of (\d+)\n`).FindStringSubmatch(out.String()); m == nil || m[1] != m[2] || m[1] == "0" {
		t.Errorf("summary lacks every event delivered to the merchant's app (%q):\n%s", m, out.String())
	}
}

// TestHelpExitsZero: asking any command for help prints its usage and is
// not an error; an unknown command still is.
func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"help"}, {"serve", "-h"}, {"trades", "-h"}, {"reconcile", "-h"}, {"sandbox", "-h"},
		{"sandbox", "serve", "-h"}, {"sandbox", "trigger", "-h"}, {"orders", "-h"}, {"events", "-h"}, {"check-config", "-h"}} {
		var out, errOut bytes.Buffer
		if err := run(t.Context(), args, noenv, &out, &errOut); err != nil {
			t.Errorf("%v: %v", args, err)
		}
		if out.Len()+errOut.Len() == 0 {
			t.Errorf("%v printed no usage", args)
		}
	}
	if err := run(t.Context(), []string{"nope"}, noenv, io.Discard, io.Discard); !errors.Is(err, errUsage) {
		t.Errorf("unknown command: %v", err)
	}
}

// TestLogFormatJSON: with log_format json every line serve writes to stderr
// is a JSON object with slog's stable keys; a bad log_format is a config
// error naming the field.
func TestLogFormatJSON(t *testing.T) {
	_, cfgPath := copySandbox(t)
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, append([]byte("log_format: json\n"), cfg...), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	logs := &syncBuffer{}
	served := make(chan error, 1)
	go func() {
		served <- run(ctx, []string{"serve", "-config", cfgPath, "-listen", "127.0.0.1:0"}, noenv, io.Discard, logs)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(logs.String(), `"msg":"serving"`) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatalf("serve: %v\n%s", err, logs.String())
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) < 2 {
		t.Fatalf("too few log lines:\n%s", logs.String())
	}
	for _, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil || rec["msg"] == nil || rec["level"] == nil || rec["time"] == nil {
			t.Fatalf("not a slog JSON line: %q (%v)", l, err)
		}
	}
	bad := filepath.Join(filepath.Dir(cfgPath), "bad.yaml")
	if err := os.WriteFile(bad, append([]byte("log_format: xml\n"), cfg...), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run(t.Context(), []string{"check-config", "-config", bad}, noenv, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "log_format: want text or json") {
		t.Fatalf("bad log_format: %v", err)
	}
}

// TestSecondServeRefused: a second serve on the same ledger exits at once,
// naming the process that holds it; read-only commands still work.
func TestSecondServeRefused(t *testing.T) {
	_, cfgPath := copySandbox(t)
	startServe(t, cfgPath)
	done := make(chan error, 1)
	go func() {
		done <- run(t.Context(), []string{"serve", "-config", cfgPath, "-listen", "127.0.0.1:0"}, noenv, io.Discard, io.Discard)
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "is in use by pid ") {
			t.Fatalf("second serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("second serve did not exit")
	}
	if err := run(t.Context(), []string{"trades", "-config", cfgPath}, noenv, io.Discard, io.Discard); err != nil {
		t.Fatalf("trades while serve runs: %v", err)
	}
}

// TestBackupWhileServing: backup of the ledger a running serve is writing
// to yields an intact copy holding every trade acknowledged before it; a
// second backup to the same file is refused.
func TestBackupWhileServing(t *testing.T) {
	dir, cfgPath := copySandbox(t)
	addr, _, _ := startServe(t, cfgPath)
	var out bytes.Buffer
	if err := run(t.Context(), []string{"sandbox", "trigger", "-config", cfgPath, "-url", "http://" + addr}, noenv, &out, io.Discard); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	before := ledgerTrades(t, filepath.Join(dir, "var", "payrecon.db"))
	storm := make(chan error, 1)
	go func() { // keep writing while the backup runs
		storm <- run(t.Context(), []string{"sandbox", "trigger", "-config", cfgPath, "-url", "http://" + addr}, noenv, io.Discard, io.Discard)
	}()
	copyPath := filepath.Join(t.TempDir(), "backup", "ledger.db")
	out.Reset()
	if err := run(t.Context(), []string{"backup", "-config", cfgPath, "-o", copyPath}, noenv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := <-storm; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "integrity ok") {
		t.Fatalf("backup said %q", out.String())
	}
	got := ledgerTrades(t, copyPath)
	for k := range before {
		if !got[k] {
			t.Errorf("backup lacks %s, acknowledged before it", k)
		}
	}
	if err := run(t.Context(), []string{"backup", "-config", cfgPath, "-o", copyPath}, noenv, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("backup over an existing file: %v", err)
	}
}

// TestCheckConfigReportsEveryFile: check-config opens every file the config
// names (keys, token, SMTP password, robot secrets, forwarding secrets) and
// reports every missing one at once; a secret readable by other users is
// a warning.
func TestCheckConfigReportsEveryFile(t *testing.T) {
	dir, cfgPath := copySandbox(t)
	base, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	extra := "admin:\n  token_file: keys/no-token\ndelivery:\n  smtp:\n    host: 127.0.0.1\n    from: payrecon@example.com\n    password_file: keys/no-password\n" +
		"  channels:\n    - {name: ops, type: dingtalk, url: \"http://127.0.0.1:1/robot\", secret_file: keys/no-robot-secret}\naccounts:"
	cfg := strings.Replace(string(base), "accounts:", extra, 1)
	cfg = strings.Replace(cfg, "apiv2_key_file: keys/apiv2.key", "apiv2_key_file: keys/no-apiv2.key", 1)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	err = run(t.Context(), []string{"check-config", "-config", cfgPath}, noenv, io.Discard, io.Discard)
	for _, field := range []string{"admin.token_file", "delivery.smtp.password_file", "delivery.channels[0].secret_file", "accounts[1].apiv2_key_file"} {
		if err == nil || !strings.Contains(err.Error(), field+": cannot read") {
			t.Errorf("error does not name %s: %v", field, err)
		}
	}
	// Every file present again, one secret world-readable: ok, with a warning.
	if err := os.WriteFile(cfgPath, base, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "keys", "apiv3.key"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	if err := run(t.Context(), []string{"check-config", "-config", cfgPath}, noenv, io.Discard, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "apiv3_key_file: ") || !strings.Contains(stderr.String(), "readable by other users (mode 0644)") {
		t.Fatalf("no warning for a world-readable key: %q", stderr.String())
	}
}

// TestServeFailedStartReleasesAdmin: when the public listener cannot be
// bound, serve fails and releases what it had started: the admin listener
// can be bound again at once.
func TestServeFailedStartReleasesAdmin(t *testing.T) {
	dir, cfgPath := copySandbox(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	adminAddr := free.Addr().String()
	free.Close()
	if err := os.WriteFile(filepath.Join(dir, "keys", "admin.token"), []byte("tok"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg = []byte(strings.Replace(string(cfg), "accounts:", "admin:\n  listen: "+adminAddr+"\n  token_file: keys/admin.token\naccounts:", 1))
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	err = run(t.Context(), []string{"serve", "-config", cfgPath, "-listen", busy.Addr().String()}, noenv, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("serve on a busy address: %v", err)
	}
	again, err := net.Listen("tcp", adminAddr)
	if err != nil {
		t.Fatalf("the failed serve still holds the admin listener: %v", err)
	}
	again.Close()
}

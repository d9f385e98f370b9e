package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/provider/sandbox/sandboxtest"
	"github.com/payrecon/payrecon/reports/deliver/loopback"
)

// writeForeignKeys writes an RSA key pair nobody configured into dir and
// returns the private and public key files (PEM).
func writeForeignKeys(t *testing.T, dir string) (priv, pub string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p8, _ := x509.MarshalPKCS8PrivateKey(k)
	pk, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	priv, pub = filepath.Join(dir, "keys", "foreign_private.pem"), filepath.Join(dir, "keys", "foreign_public.pem")
	if err := os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pk}), 0o600); err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

// runCheck runs check-config with args and returns its output and whether
// it succeeded; it must finish within a minute.
func runCheck(t *testing.T, bin, cfgPath string, args ...string) (string, bool) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"check-config", "-config", cfgPath}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err == nil
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Fatalf("check-config %v did not finish in a minute\n%s", args, out.String())
		return "", false
	}
}

// TestCheckConfigLive: check-config -live proves each account's keys
// against the emulated providers (a signed "no such order"), logs in to
// the SMTP server without sending, and with -send-test-alert posts one test
// message to each robot. Wrong keys and a wrong SMTP password are each
// named, all in one run, and the exit status is non-zero.
func TestCheckConfigLive(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	fx := sandboxtest.New(t)
	fx.Serve(t, sandbox.ServerFaults{})
	inbox, err := loopback.StartInbox(loopback.InboxOptions{TLS: "none", Username: "payrecon@example.com", Password: "smtp-pass-1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inbox.Close() })
	robot := loopback.StartRobot()
	t.Cleanup(robot.Close)
	pwFile := filepath.Join(fx.Dir, "keys", "smtp.password")
	os.WriteFile(pwFile, []byte("smtp-pass-1\n"), 0o600)
	appendConfig(t, fx.Config, fmt.Sprintf("delivery:\n  smtp:\n    host: 127.0.0.1\n    port: %d\n    tls: none\n    username: payrecon@example.com\n    password_file: keys/smtp.password\n    from: payrecon@example.com\n"+
		"  channels:\n    - {name: ops, type: wecom, url: %q}\n  alerts:\n    channels: [ops]\n", inbox.Port, robot.URL))

	out, ok := runCheck(t, bin, fx.Config, "-live")
	for _, want := range []string{"ok    sandbox-ali          alipay     alipay.trade.query of a made-up order answered ACQ.TRADE_NOT_EXIST with a valid signature",
		"ok    sandbox-wx           wechatpay  order query of a made-up order answered ORDER_NOT_EXIST with a valid signature",
		"ok    sandbox-wx           wechatpay  apiv3_key_file opened the 1 platform certificate(s) WeChat Pay sealed with it",
		"ok    delivery.smtp        smtp       127.0.0.1:", "skip  ops                  wecom      no test message without -send-test-alert"} {
		if !strings.Contains(out, want) {
			t.Errorf("check-config -live lacks %q:\n%s", want, out)
		}
	}
	if !ok || len(robot.Received()) != 0 {
		t.Fatalf("check-config -live: ok %v, %d robot messages\n%s", ok, len(robot.Received()), out)
	}
	if out, ok := runCheck(t, bin, fx.Config, "-live", "-send-test-alert"); !ok || !strings.Contains(out, "ok    ops                  wecom      test message delivered") || len(robot.Received()) != 1 {
		t.Fatalf("-send-test-alert: ok %v, %d robot messages\n%s", ok, len(robot.Received()), out)
	}
	if msgs, _ := inbox.Messages(); len(msgs) != 0 {
		t.Fatalf("check-config sent %d e-mails", len(msgs))
	}

	// Our signing keys and the SMTP password wrong: every one named, at once.
	priv, pub := writeForeignKeys(t, fx.Dir)
	orig, _ := os.ReadFile(fx.Config)
	editConfig(t, fx.Config, "app_private_key_file: keys/alipay_app_private.pem", "app_private_key_file: "+priv)
	editConfig(t, fx.Config, "merchant_private_key_file: keys/wechatpay_apiclient_key.pem", "merchant_private_key_file: "+priv)
	os.WriteFile(pwFile, []byte("not-the-password\n"), 0o600)
	out, ok = runCheck(t, bin, fx.Config, "-live")
	for _, want := range []string{"FAIL  sandbox-ali          alipay     Alipay rejected our request signature: check app_private_key_file",
		"FAIL  sandbox-wx           wechatpay  WeChat Pay rejected our request signature: check mchid, merchant_serial and merchant_private_key_file",
		"FAIL  delivery.smtp", "check delivery.smtp host, port, tls, username and password_file", "3 problem(s)"} {
		if !strings.Contains(out, want) {
			t.Errorf("wrong signing keys: output lacks %q:\n%s", want, out)
		}
	}
	if ok || strings.Contains(out, "not-the-password") {
		t.Fatalf("wrong keys: ok %v\n%s", ok, out)
	}

	// The providers' public keys wrong: their (genuine) answers do not verify.
	os.WriteFile(fx.Config, orig, 0o600)
	os.WriteFile(pwFile, []byte("smtp-pass-1\n"), 0o600)
	editConfig(t, fx.Config, "alipay_public_key_file: keys/alipay_public_key.txt", "alipay_public_key_file: "+pub)
	editConfig(t, fx.Config, "wechatpay_public_key_file: keys/wechatpay_pub_key.pem", "wechatpay_public_key_file: "+pub)
	out, ok = runCheck(t, bin, fx.Config, "-live")
	for _, want := range []string{"FAIL  sandbox-ali          alipay     Alipay's answer does not verify with our keys: check alipay_public_key_file",
		"FAIL  sandbox-wx           wechatpay  WeChat Pay's answer does not verify with our keys: check wechatpay_public_key_id, wechatpay_public_key_file",
		"ok    delivery.smtp", "2 problem(s)"} {
		if !strings.Contains(out, want) {
			t.Errorf("wrong provider keys: output lacks %q:\n%s", want, out)
		}
	}
	if ok {
		t.Fatalf("wrong provider keys passed:\n%s", out)
	}
	t.Logf("check-config -live with wrong provider keys:\n%s", out)

	// Another APIv3 key: it opens nothing WeChat Pay sealed.
	os.WriteFile(fx.Config, orig, 0o600)
	apiv3 := filepath.Join(fx.Dir, "keys", "other_apiv3.key")
	os.WriteFile(apiv3, []byte("0123456789abcdef0123456789abcdef"), 0o600)
	editConfig(t, fx.Config, "apiv3_key_file: keys/apiv3.key", "apiv3_key_file: "+apiv3)
	out, ok = runCheck(t, bin, fx.Config, "-live")
	for _, want := range []string{"ok    sandbox-wx           wechatpay  order query", "FAIL  sandbox-wx           wechatpay  the APIv3 key does not open what WeChat Pay seals with it",
		"check apiv3_key_file", "1 problem(s)"} {
		if !strings.Contains(out, want) {
			t.Errorf("wrong APIv3 key: output lacks %q:\n%s", want, out)
		}
	}
	if ok || strings.Contains(out, "0123456789abcdef") {
		t.Fatalf("wrong APIv3 key: ok %v (or the key printed)\n%s", ok, out)
	}
}

// TestCheckConfigLiveWithoutPlatformCerts: a merchant WeChat Pay hands no
// platform certificate (public key only) cannot prove its APIv3 key live;
// check-config says so and how a wrong key would show, and passes.
func TestCheckConfigLiveWithoutPlatformCerts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	fx := sandboxtest.New(t)
	fx.Serve(t, sandbox.ServerFaults{NoPlatformCerts: true})
	out, ok := runCheck(t, bin, fx.Config, "-live")
	if want := "skip  sandbox-wx           wechatpay  apiv3_key_file not proven: WeChat Pay hands this merchant no platform certificate"; !ok || !strings.Contains(out, want) {
		t.Fatalf("ok %v, want a pass saying %q:\n%s", ok, want, out)
	}
}

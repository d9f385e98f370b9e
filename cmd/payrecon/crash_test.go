package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/provider/sandbox/sandboxtest"
)

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// buildBinary compiles payrecon once per test run for the tests that run
// it as a child process.
func buildBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "payrecon-test-bin-"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "payrecon")
		cmd := exec.Command("go", "build", "-o", binPath, ".")
		cmd.Stderr = os.Stderr
		binErr = cmd.Run()
	})
	if binErr != nil {
		t.Fatalf("go build: %v", binErr)
	}
	return binPath
}

// startChild starts "payrecon serve" as a child process on a free port and
// waits until it reports its address and answers /healthz.
func startChild(t *testing.T, bin, cfgPath string) (*exec.Cmd, string, <-chan error) {
	t.Helper()
	logs := &syncBuffer{}
	cmd := exec.Command(bin, "serve", "-config", cfgPath, "-listen", "127.0.0.1:0")
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	addr := waitAddr(t, logs, exited)
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	t.Cleanup(func() { cmd.Process.Kill() })
	return cmd, addr, exited
}

// TestCrashSafety runs payrecon serve as a child process, fires concurrent
// signed notifications, kills it with SIGKILL mid-stream, restarts it, and
// checks that every acknowledged notification is in the ledger. Five rounds
// on the same ledger file.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a child process")
	}
	bin := buildBinary(t)
	fx := sandboxtest.New(t)
	dbPath := filepath.Join(fx.Dir, "var", "payrecon.db")
	const rounds, perRound = 5, 400
	acked := map[string]bool{}
	for round := range rounds {
		stormRound(t, bin, fx.Config, crashRequests(t, fx.Sandbox, round, perRound), acked)
		got := ledgerTrades(t, dbPath)
		lost := 0
		for no := range acked {
			if !got[no] {
				lost++
			}
		}
		t.Logf("round %d: %d acknowledged so far, %d in ledger, %d lost", round, len(acked), len(got), lost)
		if lost > 0 {
			t.Fatalf("round %d: %d acknowledged notifications lost", round, lost)
		}
	}
	if len(acked) == 0 {
		t.Fatal("nothing was acknowledged before the kills; the test proved nothing")
	}
	// A clean restart serves again over the same ledger.
	cmd, _, exited := startChild(t, bin, fx.Config)
	cmd.Process.Signal(syscall.SIGTERM)
	if err := <-exited; err != nil {
		t.Fatalf("clean shutdown: %v", err)
	}
}

// stormRound starts serve as a child process, posts reqs from 16
// concurrent senders, kills the child with SIGKILL at a random moment
// (20–140 ms in) while requests are in flight, and adds every
// acknowledged out_trade_no to acked.
func stormRound(t *testing.T, bin, cfgPath string, reqs []crashReq, acked map[string]bool) {
	t.Helper()
	const senders = 16
	cmd, addr, exited := startChild(t, bin, cfgPath)
	client := &http.Client{Timeout: 5 * time.Second}
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := make(chan crashReq)
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range next {
				if sendCrashReq(client, addr, r) {
					mu.Lock()
					acked[r.outTradeNo] = true
					mu.Unlock()
				}
			}
		}()
	}
	killAfter := time.Duration(20+rand.IntN(120)) * time.Millisecond
	killed := make(chan struct{})
	go func() {
		time.Sleep(killAfter)
		cmd.Process.Signal(syscall.SIGKILL)
		close(killed)
	}()
	sent := 0
feed:
	for _, r := range reqs {
		select {
		case next <- r:
			sent++
		case <-killed:
			break feed
		}
	}
	close(next)
	wg.Wait()
	<-killed
	<-exited
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child was not killed by SIGKILL (%v); the kill came too late", cmd.ProcessState)
	}
	t.Logf("killed after %s, %d of %d sent", killAfter, sent, len(reqs))
}

// TestCrashForward: serve with forwarding on to a verifying loopback
// receiver is SIGKILLed five times under a notification storm; after the
// last restart every acknowledged notification has a delivered
// payment.succeeded at the receiver, one webhook-id per fact (a
// redelivery after a crash reuses the id).
func TestCrashForward(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a child process")
	}
	bin := buildBinary(t)
	fx := sandboxtest.New(t)
	rc := appFor(t, fx.Config)
	const rounds, perRound = 5, 300
	acked := map[string]bool{}
	for round := range rounds {
		stormRound(t, bin, fx.Config, crashRequests(t, fx.Sandbox, round, perRound), acked)
		got, _ := rc.Events()
		t.Logf("round %d: %d acknowledged so far, %d events received", round, len(acked), len(got))
	}
	if len(acked) == 0 {
		t.Fatal("nothing was acknowledged before the kills; the test proved nothing")
	}
	cmd, _, exited := startChild(t, bin, fx.Config)
	all := waitDelivered(t, fx.Config)
	cmd.Process.Signal(syscall.SIGTERM)
	if err := <-exited; err != nil {
		t.Fatalf("clean shutdown: %v", err)
	}
	checkCrashDeliveries(t, rc, acked, len(all))
}

// checkCrashDeliveries: every acknowledged trade has exactly one distinct
// payment.succeeded event at the receiver, and the receiver holds every
// event of the outbox.
func checkCrashDeliveries(t *testing.T, rc *sandbox.Receiver, acked map[string]bool, outboxLen int) {
	t.Helper()
	got, seen := rc.Events()
	byTrade := map[string]string{}
	again := 0
	for _, ev := range got {
		if seen[ev.ID] > 1 {
			again++
		}
		_, trade := fact(t, ev)
		if ev.Type != payrecon.PaymentSucceeded {
			t.Errorf("unexpected %s for %s", ev.Type, trade)
			continue
		}
		if id, dup := byTrade[trade]; dup {
			t.Errorf("trade %s: two events %s and %s for one payment", trade, id, ev.ID)
		}
		byTrade[trade] = ev.ID
	}
	missing := 0
	for no := range acked {
		if _, ok := byTrade[no]; !ok {
			missing++
		}
	}
	t.Logf("%d acknowledged, %d distinct events received (%d redelivered under the same id), outbox %d", len(acked), len(got), again, outboxLen)
	if missing > 0 {
		t.Fatalf("%d acknowledged notifications have no delivered event", missing)
	}
	if len(got) != outboxLen {
		t.Fatalf("receiver got %d distinct events, the outbox holds %d", len(got), outboxLen)
	}
}

type crashReq struct {
	account    string
	outTradeNo string
	header     http.Header
	body       []byte
	protocol   payrecon.Protocol
}

func crashRequests(t *testing.T, sb *sandbox.Sandbox, round, n int) []crashReq {
	t.Helper()
	out := make([]crashReq, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			no := fmt.Sprintf("K%d-%04d", round, i)
			paid := time.Now().Add(-time.Minute)
			if i%2 == 0 {
				body, err := sb.SignAlipay(sb.AlipayTradeParams(sandbox.AlipayTrade{OutTradeNo: no, TradeNo: "2026" + no, Amount: payrecon.Fen(i + 1), Status: "TRADE_SUCCESS", Paid: paid}), sandbox.AlipayOptions{})
				errs <- err
				out[i] = crashReq{sb.ID.Alipay.Account, no, http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, body, "alipay"}
				return
			}
			h, body, err := sb.WeChatV3Transaction(sandbox.WeChatTransaction{OutTradeNo: no, TransactionID: "4200" + no, Amount: payrecon.Fen(i + 1), Paid: paid}, sandbox.WeChatV3Options{})
			errs <- err
			out[i] = crashReq{sb.ID.WeChat.Account, no, h, body, "wechatpay-v3"}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func sendCrashReq(client *http.Client, addr string, r crashReq) bool {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, "http://"+addr+"/notify/"+r.account, bytes.NewReader(r.body))
	if err != nil {
		return false
	}
	req.Header = r.header.Clone()
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return false
	}
	ok, _, err := sandbox.Accepted(r.protocol, resp.StatusCode, b)
	return err == nil && ok
}

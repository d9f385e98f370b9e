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
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
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
// signed payment and refund notifications, kills it with SIGKILL
// mid-stream, restarts it, and checks that every acknowledged notification
// is in the ledger as it said (amount and status, refunds too), that the
// ledger passes PRAGMA integrity_check, and that its commits are fsynced
// (WAL, synchronous FULL or EXTRA) before the acknowledgement. Five rounds
// on the same ledger file.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a child process")
	}
	bin := buildBinary(t)
	fx := sandboxtest.New(t)
	dbPath := filepath.Join(fx.Dir, "var", "payrecon.db")
	const rounds, perRound = 5, 400
	acked := map[string]crashReq{}
	for round := range rounds {
		stormRound(t, bin, fx.Config, withRefunds(t, fx.Sandbox, crashRequests(t, fx.Sandbox, round, perRound)), acked)
		checkCrashLedger(t, dbPath, round, acked)
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
func stormRound(t *testing.T, bin, cfgPath string, reqs []crashReq, acked map[string]crashReq) {
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
					acked[r.outTradeNo] = r
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
	acked := map[string]crashReq{}
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
func checkCrashDeliveries(t *testing.T, rc *sandbox.Receiver, acked map[string]crashReq, outboxLen int) {
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
	// amount is the trade's; a refund notification (refundNo set) refunds
	// refundFen of it.
	amount    payrecon.Fen
	refundNo  string
	refundFen payrecon.Fen
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
				out[i] = crashReq{account: sb.ID.Alipay.Account, outTradeNo: no, header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
					body: body, protocol: "alipay", amount: payrecon.Fen(i + 1)}
				return
			}
			h, body, err := sb.WeChatV3Transaction(sandbox.WeChatTransaction{OutTradeNo: no, TransactionID: "4200" + no, Amount: payrecon.Fen(i + 1), Paid: paid}, sandbox.WeChatV3Options{})
			errs <- err
			out[i] = crashReq{account: sb.ID.WeChat.Account, outTradeNo: no, header: h, body: body, protocol: "wechatpay-v3", amount: payrecon.Fen(i + 1)}
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

// withRefunds turns half of the storm's notifications (i%4 = 2 or 3, both
// providers) into refund notifications of 1 fen on their own trades.
func withRefunds(t *testing.T, sb *sandbox.Sandbox, reqs []crashReq) []crashReq {
	t.Helper()
	paid, refunded := time.Now().Add(-time.Minute), time.Now().Add(-30*time.Second)
	for i, r := range reqs {
		if i%4 < 2 {
			continue
		}
		r.refundFen = 1
		if r.protocol == "alipay" {
			r.refundNo = "RA" + r.outTradeNo
			body, err := sb.SignAlipay(sb.AlipayTradeParams(sandbox.AlipayTrade{OutTradeNo: r.outTradeNo, TradeNo: "2026" + r.outTradeNo, Amount: r.amount,
				Status: "TRADE_SUCCESS", Paid: paid, RefundTotal: 1, OutBizNo: r.refundNo, Refunded: refunded}), sandbox.AlipayOptions{})
			if err != nil {
				t.Fatal(err)
			}
			r.body = body
		} else {
			r.refundNo = "RW" + r.outTradeNo
			h, body, err := sb.WeChatV3Refund(sandbox.WeChatRefund{OutTradeNo: r.outTradeNo, TransactionID: "4200" + r.outTradeNo, OutRefundNo: r.refundNo,
				RefundID: "5000" + r.outTradeNo, Total: r.amount, Refund: 1, Status: "SUCCESS", At: refunded}, sandbox.WeChatV3Options{})
			if err != nil {
				t.Fatal(err)
			}
			r.header, r.body = h, body
		}
		reqs[i] = r
	}
	return reqs
}

// checkCrashLedger opens the ledger the killed child left and checks that
// its commits are fsynced (WAL, synchronous FULL or EXTRA: the pragmas
// the binary opens it with), that it passes PRAGMA integrity_check, and
// that every acknowledged notification is in it as it said: a payment's
// trade PAID with its amount, a refund SUCCESS with its amount on its
// trade.
func checkCrashLedger(t *testing.T, dbPath string, round int, acked map[string]crashReq) {
	t.Helper()
	db, err := store.Open(t.Context(), dbPath, store.Options{}, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if d, err := db.Durability(t.Context()); err != nil || !d.Synced() {
		t.Fatalf("round %d: commits not fsynced before the reply: %+v %v", round, d, err)
	}
	if err := db.IntegrityCheck(t.Context()); err != nil {
		t.Fatalf("round %d: %v", round, err)
	}
	trades := map[string]payrecon.Trade{}
	for _, tr := range storetest.Must(db.Trades(t.Context(), store.TradeFilter{})) {
		trades[tr.OutTradeNo] = tr
	}
	refunds := map[string]payrecon.RefundRecord{}
	for _, acct := range []string{"sandbox-ali", "sandbox-wx"} {
		for _, r := range storetest.Must(db.Refunds(t.Context(), acct)) {
			refunds[r.OutRefundNo] = r
		}
	}
	var bad []string
	nrefunds := 0
	for no, r := range acked {
		tr, ok := trades[no]
		switch {
		case !ok:
			bad = append(bad, no+": lost")
		case r.refundNo == "" && (tr.Status != payrecon.StatusPaid || tr.AmountFen != r.amount):
			bad = append(bad, fmt.Sprintf("%s: %s %d, want PAID %d", no, tr.Status, tr.AmountFen, r.amount))
		case r.refundNo != "":
			nrefunds++
			if rf := refunds[r.refundNo]; rf.Status != payrecon.RefundSuccess || rf.AmountFen != r.refundFen || tr.RefundedFen != r.refundFen {
				bad = append(bad, fmt.Sprintf("%s: refund %s %q %d (trade refunded %d), want SUCCESS %d", no, r.refundNo, rf.Status, rf.AmountFen, tr.RefundedFen, r.refundFen))
			}
		}
	}
	t.Logf("round %d: %d acknowledged so far (%d refunds), %d trades in the ledger, %d wrong", round, len(acked), nrefunds, len(trades), len(bad))
	if len(bad) > 0 {
		t.Fatalf("round %d: acknowledged notifications lost or wrong: %v", round, bad[:min(len(bad), 10)])
	}
}

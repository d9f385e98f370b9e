package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/store"
)

// addForward writes a forward secret into the sandbox dir and a forward
// entry for url (retrying every 50ms) into its config; it returns the
// secret file.
func addForward(t *testing.T, cfgPath, url string) string {
	t.Helper()
	secret := filepath.Join(filepath.Dir(cfgPath), "keys", "forward.secret")
	if err := os.WriteFile(secret, []byte(newForwardSecret()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(cfgPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fmt.Fprintf(f, "forward:\n  - name: app\n    url: %s\n    secret_file: keys/forward.secret\n    timeout: 2s\n    retry_schedule: [50ms]\n", url)
	return secret
}

// startReceiver runs the sandbox receiver on 127.0.0.1.
func startReceiver(t *testing.T, secret string, fail int) (*sandbox.Receiver, string) {
	t.Helper()
	rc, err := newReceiver(secret, fail, 0, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	return rc, srv.URL + "/events"
}

// appFor adds a forward entry to the config and runs the receiver it
// points at.
func appFor(t *testing.T, cfgPath string) *sandbox.Receiver {
	t.Helper()
	const placeholder = "http://127.0.0.1:9/placeholder"
	secret := addForward(t, cfgPath, placeholder)
	rc, url := startReceiver(t, secret, 0)
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, bytes.Replace(cfg, []byte(placeholder), []byte(url), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	return rc
}

// outbox reads the ledger's events.
func outbox(t *testing.T, cfgPath string, st payrecon.DeliveryStatus) []payrecon.OutboxEvent {
	t.Helper()
	cfg, err := readConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	db, err := openLedger(t.Context(), cfg, noenv)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	evs, err := db.Events(t.Context(), store.EventFilter{Status: st})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// waitDelivered waits (up to 20 s) until the outbox holds events and none
// is pending, and returns them.
func waitDelivered(t *testing.T, cfgPath string) []payrecon.OutboxEvent {
	t.Helper()
	for range 400 {
		all := outbox(t, cfgPath, "")
		if len(all) > 0 && len(outbox(t, cfgPath, payrecon.DeliveryPending)) == 0 {
			return all
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("events still pending: %d", len(outbox(t, cfgPath, payrecon.DeliveryPending)))
	return nil
}

// fact names the ledger fact an event reports.
func fact(t *testing.T, ev payrecon.AppEvent) (key, trade string) {
	var d map[string]any
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		t.Fatal(err)
	}
	trade, _ = d["out_trade_no"].(string)
	return fmt.Sprint(ev.Type, " ", ev.Account, " ", d["out_trade_no"], " ", d["out_refund_no"], " ", d["out_biz_no"]), trade
}

// TestForwardEveryFact: every trigger scenario and a faulty business day,
// reconciled, reach a receiver that verifies signatures as exactly one
// event per fact, in order per trade; dropped callbacks recovered by query
// arrive with source=query and the ghost trade as trade.disputed.
func TestForwardEveryFact(t *testing.T) {
	dir, cfgPath := copySandbox(t)
	sb, err := sandbox.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	day := sb.GenerateDay(e2eDay, sandbox.DayOptions{Trades: 25, Seed: 7, Faults: true})
	serveProviders(t, sb, cfgPath, sandbox.ServerFaults{}, day)
	rc := appFor(t, cfgPath)
	addr, _, stop := startServe(t, cfgPath)
	var out bytes.Buffer
	if err := run(t.Context(), []string{"sandbox", "trigger", "-config", cfgPath, "-url", "http://" + addr}, noenv, &out, io.Discard); err != nil {
		t.Fatalf("trigger: %v\n%s", err, out.String())
	}
	if res, err := sb.DeliverDays(t.Context(), &http.Client{Timeout: 10 * time.Second}, "http://"+addr, io.Discard, day); err != nil {
		t.Fatalf("%v: %v", err, res.Unexpected)
	}
	if err := run(t.Context(), []string{"reconcile", "-config", cfgPath, "-date", "2026-11-20"}, noenv, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	all := waitDelivered(t, cfgPath)
	stop()

	got, seen := rc.Events()
	if len(got) != len(all) {
		t.Fatalf("receiver got %d distinct events, the outbox holds %d", len(got), len(all))
	}
	facts := map[string]payrecon.AppEvent{}
	firstPay := map[string]int{}
	for i, ev := range got {
		if seen[ev.ID] != 1 {
			t.Errorf("%s received %d times", ev.ID, seen[ev.ID])
		}
		k, trade := fact(t, ev)
		if _, dup := facts[k]; dup {
			t.Errorf("two events for one fact: %s", k)
		}
		facts[k] = ev
		switch {
		case ev.Type == payrecon.PaymentSucceeded:
			firstPay[ev.Account+"/"+trade] = i
		case strings.HasPrefix(string(ev.Type), "refund."):
			if p, ok := firstPay[ev.Account+"/"+trade]; !ok || p > i {
				t.Errorf("%s arrived before its payment.succeeded", k)
			}
		}
	}
	checkDayFacts(t, day, facts)
}

// checkDayFacts: the day's dropped payments came by query, its ghosts as
// disputes.
func checkDayFacts(t *testing.T, day *sandbox.Day, facts map[string]payrecon.AppEvent) {
	t.Helper()
	acct := map[payrecon.Provider]string{payrecon.Alipay: "sandbox-ali", payrecon.WeChatPay: "sandbox-wx"}
	d := payrecon.DayOf(day.Date)
	recovered, disputed := 0, 0
	for _, tr := range day.Trades {
		if !d.Contains(tr.PaidAt) || !(tr.DropNotify || tr.TamperNotify || tr.DelayNotify) {
			continue
		}
		ev, ok := facts[fmt.Sprint(payrecon.PaymentSucceeded, " ", acct[tr.Provider], " ", tr.OutTradeNo, " <nil> <nil>")]
		if !ok || ev.Source != payrecon.SourceQuery {
			t.Errorf("dropped callback %s: event %+v, want payment.succeeded with source=query", tr.OutTradeNo, ev)
		}
		recovered++
	}
	for _, g := range day.Ghosts {
		if !d.Contains(g.PaidAt) {
			continue
		}
		if _, ok := facts[fmt.Sprint(payrecon.TradeDisputed, " ", acct[g.Provider], " ", g.OutTradeNo, " <nil> <nil>")]; !ok {
			t.Errorf("ghost %s: no trade.disputed", g.OutTradeNo)
		}
		disputed++
	}
	if recovered == 0 || disputed == 0 {
		t.Fatalf("the day has %d recovered and %d ghosts: the test checks nothing", recovered, disputed)
	}
}

// TestForwardReceiverDown: with the app down the whole time, intake is
// unaffected and events stay pending; "events replay" sends them (and
// delivered ones again, under the same ids) once the app is back.
func TestForwardReceiverDown(t *testing.T) {
	_, cfgPath := copySandbox(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downURL := "http://" + ln.Addr().String() + "/events"
	ln.Close() // nothing listens: connection refused
	secret := addForward(t, cfgPath, downURL)

	addr, _, stop := startServe(t, cfgPath)
	var out bytes.Buffer
	if err := run(t.Context(), []string{"sandbox", "trigger", "-config", cfgPath, "-url", "http://" + addr}, noenv, &out, io.Discard); err != nil {
		t.Fatalf("intake with the app down: %v\n%s", err, out.String())
	}
	time.Sleep(300 * time.Millisecond) // a few retries
	stop()
	pending := outbox(t, cfgPath, payrecon.DeliveryPending)
	if len(pending) == 0 || len(outbox(t, cfgPath, "")) != len(pending) {
		t.Fatalf("%d pending of %d", len(pending), len(outbox(t, cfgPath, "")))
	}

	rc, url := startReceiver(t, secret, 0)
	cfg, _ := os.ReadFile(cfgPath)
	os.WriteFile(cfgPath, bytes.Replace(cfg, []byte(downURL), []byte(url), 1), 0o600)
	out.Reset()
	if err := run(t.Context(), []string{"events", "replay", "-config", cfgPath, "-since", "2000-01-01"}, noenv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), fmt.Sprintf("%d events queued", len(pending))) {
		t.Fatalf("replay: %s", out.String())
	}
	_, _, stop = startServe(t, cfgPath)
	waitDelivered(t, cfgPath)
	got, _ := rc.Events()
	if len(got) != len(pending) {
		t.Fatalf("received %d events, %d were pending", len(got), len(pending))
	}
	// Replaying a delivered event sends it again under the same id.
	if err := run(t.Context(), []string{"events", "replay", "-config", cfgPath, got[0].ID}, noenv, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	for range 200 {
		if _, seen := rc.Events(); seen[got[0].ID] == 2 {
			stop()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("replayed event not received again")
}

// TestForwardConfigErrors: a forward secret of the wrong form fails
// check-config naming the field, and never shows the secret.
func TestForwardConfigErrors(t *testing.T) {
	_, cfgPath := copySandbox(t)
	secret := addForward(t, cfgPath, "http://127.0.0.1:9/events")
	for _, bad := range []string{"not-a-secret-at-all", "whsec_c2hvcnQ="} {
		os.WriteFile(secret, []byte(bad), 0o600)
		err := run(t.Context(), []string{"check-config", "-config", cfgPath}, noenv, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "forward[0].secret_file: ") || strings.Contains(err.Error(), bad) {
			t.Fatalf("secret %q: err = %v", bad, err)
		}
	}
}

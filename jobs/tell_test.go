package jobs_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/reports/deliver"
	"github.com/payrecon/payrecon/reports/deliver/email"
	"github.com/payrecon/payrecon/reports/deliver/loopback"
	"github.com/payrecon/payrecon/reports/deliver/wecom"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

func TestDailyTellsPeople(t *testing.T) {
	e := setup(t, sandbox.ServerFaults{})
	inbox, err := loopback.StartInbox(loopback.InboxOptions{TLS: "none"})
	if err != nil {
		t.Fatal(err)
	}
	defer inbox.Close()
	robot := loopback.StartRobot()
	defer robot.Close()
	e.daily.Deliver = &deliver.Dispatcher{Log: e.db, Backoff: time.Millisecond, Channels: map[string]deliver.Notifier{
		jobs.EmailChannel: &email.Notifier{Host: "127.0.0.1", Port: inbox.Port, TLS: email.None, From: "payrecon@example.com"},
		"ops":             &wecom.Notifier{URL: robot.URL, HTTP: robot.Client()},
	}}
	e.daily.Alerts = jobs.Alerting{Channels: []string{"ops"}, RecoveredMin: 1, HealthMinE4: 9000}
	acct := e.sb.ID.WeChat.Account
	a := e.daily.Accounts[acct]
	a.EmailTo = []string{"accountant@example.com"}
	e.daily.Accounts[acct] = a

	rep, err := e.daily.Run(t.Context(), acct, payrecon.DayOf(day), jobs.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	alerts := robot.Received()
	var texts []string
	for _, a := range alerts {
		md, _ := a["markdown"].(map[string]any)
		texts = append(texts, md["content"].(string))
	}
	joined := strings.Join(texts, "\n---\n")
	for _, want := range []string{"CONFIRMED_ABSENT: WGHOST20261120", "补回 4 笔丢失的支付回调", "回调健康度 80.00% 低于 90.00%"} {
		if !strings.Contains(joined, want) {
			t.Errorf("alerts lack %q:\n%s", want, joined)
		}
	}
	msgs, rcpt := inbox.Messages()
	if len(msgs) != 1 || rcpt[0][0] != "accountant@example.com" {
		t.Fatalf("%d e-mails to %v", len(msgs), rcpt)
	}
	m, err := mail.ReadMessage(bytes.NewReader(msgs[0]))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Header.Get("Subject"), "sandbox-wx") || !bytes.Contains(msgs[0], []byte("sandbox-wx_2026-11-20.xlsx")) || rep.Workbook == "" {
		t.Fatalf("e-mail lacks the workbook attachment")
	}

	// The same run again: the same causes are not alerted twice.
	n := len(alerts)
	if _, err := e.daily.Run(t.Context(), acct, payrecon.DayOf(day), jobs.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := len(robot.Received()); got != n {
		t.Fatalf("re-run sent %d more alerts", got-n)
	}
}

func TestRejectMonitor(t *testing.T) {
	db := storetest.MustOpen(t, store.Options{})
	robot := loopback.StartRobot()
	defer robot.Close()
	disp := &deliver.Dispatcher{Log: db, Backoff: time.Millisecond, Channels: map[string]deliver.Notifier{"ops": &wecom.Notifier{URL: robot.URL, HTTP: robot.Client()}}}
	now := time.Now()
	for i := range 5 {
		reason := "bad_signature"
		if i == 0 {
			reason = "probe" // WeChat Pay's probes never count
		}
		db.Quarantine(t.Context(), payrecon.Rejected{ReceivedAt: now, Account: "shop", Reason: reason})
	}
	m := &jobs.RejectMonitor{DB: db, Deliver: disp, Channels: []string{"ops"}, Threshold: 5, Window: 10 * time.Minute, Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler)}
	m.Check(t.Context())
	if n := len(robot.Received()); n != 0 {
		t.Fatalf("4 rejections (probe excluded) alerted %d times at threshold 5", n)
	}
	db.Quarantine(t.Context(), payrecon.Rejected{ReceivedAt: now, Account: "shop", Reason: "account_mismatch"})
	m.Check(t.Context())
	m.Check(t.Context()) // same window: not again
	if got := robot.Received(); len(got) != 1 {
		t.Fatalf("%d alerts", len(got))
	}
}

// TestCancelledRunIsNotAFailure: a run stopped by its context (Ctrl-C,
// serve stopping) is recorded as cancelled and alerts nobody; a real
// failure of the same day afterwards still alerts (the cancellation used
// up no dedup window).
func TestCancelledRunIsNotAFailure(t *testing.T) {
	e := setup(t, sandbox.ServerFaults{BillNotReady: 1000})
	robot := loopback.StartRobot()
	defer robot.Close()
	e.daily.Deliver = &deliver.Dispatcher{Log: e.db, Backoff: time.Millisecond, Window: 24 * time.Hour, Channels: map[string]deliver.Notifier{
		"ops": &wecom.Notifier{URL: robot.URL, HTTP: robot.Client()},
	}}
	e.daily.Alerts = jobs.Alerting{Channels: []string{"ops"}}
	e.daily.Opt.BillDeadline = time.Minute // the bill stays "not ready": the run waits until cancelled
	acct := e.sb.ID.WeChat.Account

	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(200*time.Millisecond, cancel)
	if _, err := e.daily.Run(ctx, acct, payrecon.DayOf(day), jobs.RunOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	runs := storetest.Must(e.db.Runs(t.Context(), 1))
	if len(runs) != 1 || runs[0].Status != payrecon.RunCancelled {
		t.Fatalf("runs %+v, want one cancelled", runs)
	}
	if got := robot.Received(); len(got) != 0 {
		t.Fatalf("a cancellation alerted: %v", got)
	}

	e.daily.Opt.BillDeadline = 0 // a real failure: not ready and past the deadline
	if _, err := e.daily.Run(t.Context(), acct, payrecon.DayOf(day), jobs.RunOptions{}); !errors.Is(err, jobs.ErrBillUnavailable) {
		t.Fatalf("err = %v, want ErrBillUnavailable", err)
	}
	got := robot.Received()
	if len(got) != 1 {
		t.Fatalf("the real failure sent %d alerts, want 1: %v", len(got), got)
	}
	md, _ := got[0]["markdown"].(map[string]any)
	if content, _ := md["content"].(string); !strings.Contains(content, "对账失败") {
		t.Fatalf("alert %q is not the run failure", content)
	}
	if runs := storetest.Must(e.db.Runs(t.Context(), 1)); len(runs) != 1 || runs[0].Status != payrecon.RunFailed {
		t.Fatalf("runs %+v, want the last failed", runs)
	}
}

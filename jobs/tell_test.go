package jobs_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/mail"
	"regexp"
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
	// Two messages: the urgent CONFIRMED_ABSENT (order number and amount:
	// do not ship) and the one daily digest, all in the report's locale.
	if len(texts) != 2 {
		t.Fatalf("%d alerts, want the urgent one and the digest:\n%s", len(texts), joined)
	}
	for _, want := range []string{"1 笔渠道查无此单，勿发货", "- WGHOST20261120 ¥66.66", "CONFIRMED_ABSENT"} {
		if !strings.Contains(texts[0], want) {
			t.Errorf("urgent alert lacks %q:\n%s", want, texts[0])
		}
	}
	for _, want := range []string{"对账日报 sandbox-wx 2026-11-20：2 项需处理", "账单：支付 20 笔 ¥5121.42，退款 2 笔 ¥178.67，手续费 ¥29.07，净结算 ¥4913.68",
		"- 金额不符：1 笔 ¥1.00", "  · W202611200006 ¥1.00 需人工复核", "  · WGHOST20261120 ¥66.66 渠道无此单", "- 补回 5 笔",
		"补回 4 笔丢失的支付回调", "回调健康度 80.00% 低于 90.00%", "payrecon review list -account sandbox-wx -date 2026-11-20",
		"工作簿：sandbox-wx/2026-11-20.xlsx"} {
		if !strings.Contains(texts[1], want) {
			t.Errorf("digest lacks %q:\n%s", want, texts[1])
		}
	}
	if strings.Contains(joined, "by notification") || strings.Contains(joined, "accepted notifications") {
		t.Errorf("English in a zh digest:\n%s", joined)
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
	got := robot.Received()
	if len(got) != 1 {
		t.Fatalf("%d alerts", len(got))
	}
	// The alert names the top reasons with counts, most frequent first, and
	// the command that shows them.
	md, _ := got[0]["markdown"].(map[string]any)
	content, _ := md["content"].(string)
	for _, want := range []string{"shop 在 10m0s 内被拒绝的通知 5 条", "- bad_signature：4 条\n- account_mismatch：1 条",
		"payrecon quarantine -config <配置文件> -account shop -since 10m0s", "-account shop -reason bad_signature"} {
		if !strings.Contains(content, want) {
			t.Errorf("burst alert lacks %q:\n%s", want, content)
		}
	}
	if strings.Contains(content, "probe") {
		t.Errorf("burst alert counts probes:\n%s", content)
	}
}

// TestDigestInEnglish: with reports.locale en the digest and the urgent
// alert are English throughout.
func TestDigestInEnglish(t *testing.T) {
	e := setup(t, sandbox.ServerFaults{})
	robot := loopback.StartRobot()
	defer robot.Close()
	e.daily.Deliver = &deliver.Dispatcher{Log: e.db, Backoff: time.Millisecond, Channels: map[string]deliver.Notifier{
		"ops": &wecom.Notifier{URL: robot.URL, HTTP: robot.Client()},
	}}
	e.daily.Alerts = jobs.Alerting{Channels: []string{"ops"}, RecoveredMin: 1, HealthMinE4: 9000}
	e.daily.Opt.Locale = "en"
	if _, err := e.daily.Run(t.Context(), e.sb.ID.WeChat.Account, payrecon.DayOf(day), jobs.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	var joined string
	for _, a := range robot.Received() {
		md, _ := a["markdown"].(map[string]any)
		joined += md["content"].(string) + "\n"
	}
	for _, want := range []string{"1 trades the provider denies, do not ship", "daily digest sandbox-wx 2026-11-20: 2 items need action",
		"Bill: 20 payments ¥5121.42", "- Amount differs: 1, ¥1.00", "W202611200006 ¥1.00 needs review", "Next: payrecon review list"} {
		if !strings.Contains(joined, want) {
			t.Errorf("English alerts lack %q:\n%s", want, joined)
		}
	}
	if han := regexp.MustCompile(`\p{Han}`).FindString(joined); han != "" {
		t.Errorf("Chinese %q in English alerts:\n%s", han, joined)
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
	content, _ := md["content"].(string)
	for _, want := range []string{"对账失败", "原因：截止时间前渠道仍未提供账单", "payrecon 会在下一个调度窗口重试", "payrecon reconcile -account " + acct + " -date 2026-11-20"} {
		if !strings.Contains(content, want) {
			t.Fatalf("run failure alert lacks %q:\n%s", want, content)
		}
	}
	if runs := storetest.Must(e.db.Runs(t.Context(), 1)); len(runs) != 1 || runs[0].Status != payrecon.RunFailed {
		t.Fatalf("runs %+v, want the last failed", runs)
	}
}

package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/reports/deliver"
)

// Deliverer sends messages to people (a *deliver.Dispatcher).
type Deliverer interface {
	Send(ctx context.Context, m deliver.Message, channels ...string) error
}

// Alerting says when and where to alert ops.
type Alerting struct {
	// Channels are the alert channels (names known to the Deliverer).
	Channels []string
	// RecoveredMin alerts when at least this many dropped callbacks were
	// recovered in a day (0: off).
	RecoveredMin int
	// HealthMinE4 alerts when the share of paid trades learned from
	// notifications falls below this, in hundredths of a percent (0: off).
	HealthMinE4 int
}

// EmailChannel is the channel name of SMTP delivery.
const EmailChannel = "email"

// tell e-mails the workbook and raises alerts after a run. Delivery
// failures are logged and recorded by the dispatcher; they never fail the
// run or block the next day.
func (d *Daily) tell(ctx context.Context, acct Account, rep Report, workbookSHA string, runErr error) {
	// A cancelled run (Ctrl-C, serve stopping) is nobody's failure: no
	// alert, and so no dedup entry that would swallow a real failure later.
	if d.Deliver == nil || payrecon.RunStatusOf(runErr) == payrecon.RunCancelled {
		return
	}
	ctx = context.WithoutCancel(ctx)
	log := d.Log.With("account", acct.Name, "bill_date", rep.Day.String())
	alert := func(key, severity, title, text string) {
		if len(d.Alerts.Channels) == 0 {
			return
		}
		m := deliver.Message{Key: key, Severity: severity, Account: acct.Name, Title: title, Text: text}
		if err := d.Deliver.Send(ctx, m, d.Alerts.Channels...); err != nil {
			log.Warn("alert not delivered", "key", key, "err", err)
		}
	}
	en := d.Opt.Locale == "en"
	if runErr != nil {
		title := fmt.Sprintf("payrecon: 对账失败 %s %s", acct.Name, rep.Day.String())
		if en {
			title = fmt.Sprintf("payrecon: reconciliation failed %s %s", acct.Name, rep.Day.String())
		}
		alert("run-failed:"+acct.Name+":"+rep.Day.String(), "critical", title, runErr.Error())
		return
	}
	if n := rep.Outcomes[payrecon.OutcomeConfirmedAbsent]; n > 0 {
		var nos []string
		for _, r := range rep.Discrepancies {
			if r.Resolution == payrecon.OutcomeConfirmedAbsent {
				nos = append(nos, r.OrderNo())
			}
		}
		title := fmt.Sprintf("payrecon: %d 笔已受理通知渠道查无此单 (%s %s)", n, acct.Name, rep.Day.String())
		if en {
			title = fmt.Sprintf("payrecon: %d accepted notifications the provider denies (%s %s)", n, acct.Name, rep.Day.String())
		}
		alert("absent:"+acct.Name+":"+rep.Day.String(), "critical", title, "CONFIRMED_ABSENT: "+strings.Join(nos, ", "))
	}
	recovered := 0
	for _, r := range rep.Discrepancies {
		if r.Resolution == payrecon.OutcomeRecovered && r.Code == payrecon.MissingLocal && r.Kind == payrecon.EntryPayment {
			recovered++
		}
	}
	if d.Alerts.RecoveredMin > 0 && recovered >= d.Alerts.RecoveredMin {
		title := fmt.Sprintf("payrecon: 补回 %d 笔丢失的支付回调 (%s %s)", recovered, acct.Name, rep.Day.String())
		if en {
			title = fmt.Sprintf("payrecon: %d dropped payment callbacks recovered (%s %s)", recovered, acct.Name, rep.Day.String())
		}
		alert("dropped:"+acct.Name+":"+rep.Day.String(), "warning", title, rep.Health.String())
	}
	if d.Alerts.HealthMinE4 > 0 && rep.Health.Total() > 0 && rep.Health.NotifyShareE4() < d.Alerts.HealthMinE4 {
		title := fmt.Sprintf("payrecon: 回调健康度 %s 低于 %s (%s %s)", payrecon.Percent(rep.Health.NotifyShareE4()), payrecon.Percent(d.Alerts.HealthMinE4), acct.Name, rep.Day.String())
		if en {
			title = fmt.Sprintf("payrecon: callback health %s below %s (%s %s)", payrecon.Percent(rep.Health.NotifyShareE4()), payrecon.Percent(d.Alerts.HealthMinE4), acct.Name, rep.Day.String())
		}
		alert("health:"+acct.Name+":"+rep.Day.String(), "warning", title, rep.Health.String())
	}

	if len(acct.EmailTo) == 0 || rep.Workbook == "" {
		return
	}
	data, err := os.ReadFile(rep.Workbook)
	if err != nil {
		log.Error("workbook not readable for e-mail", "err", err)
		return
	}
	m := deliver.Message{Key: "report:" + acct.Name + ":" + rep.Day.String() + ":" + workbookSHA, Account: acct.Name, To: acct.EmailTo,
		Title: emailSubject(en, acct.Name, rep.Day.String()), Text: emailBody(en, rep),
		Attachments: []deliver.Attachment{{Name: acct.Name + "_" + rep.Day.String() + ".xlsx",
			ContentType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Data: data}}}
	if err := d.Deliver.Send(ctx, m, EmailChannel); err != nil {
		log.Error("report e-mail failed", "err", err)
		title := fmt.Sprintf("payrecon: 对账报告邮件发送失败 %s %s", acct.Name, rep.Day.String())
		if en {
			title = fmt.Sprintf("payrecon: report e-mail failed %s %s", acct.Name, rep.Day.String())
		}
		alert("email-failed:"+acct.Name+":"+rep.Day.String(), "warning", title, err.Error())
	}
}

func emailSubject(en bool, account, date string) string {
	if en {
		return fmt.Sprintf("payrecon reconciliation report %s %s", account, date)
	}
	return fmt.Sprintf("payrecon 对账报告 %s %s", account, date)
}

// emailBody is the short summary in the report's locale.
func emailBody(en bool, rep Report) string {
	var b strings.Builder
	t := func(zh, enText string) string {
		if en {
			return enText
		}
		return zh
	}
	fmt.Fprintf(&b, "%s %s\n\n", rep.Account, rep.Day.String())
	fmt.Fprintf(&b, "%s: %d, %s %s\n", t("交易笔数", "Payments"), rep.Bill.Payments, t("金额", "amount"), rep.Bill.PaymentFen.Yuan())
	fmt.Fprintf(&b, "%s: %d, %s %s\n", t("退款笔数", "Refunds"), rep.Bill.Refunds, t("金额", "amount"), rep.Bill.RefundFen.Yuan())
	fmt.Fprintf(&b, "%s: %s\n\n", t("差异", "Discrepancies"), countsLine(rep.Counts))
	fmt.Fprintf(&b, "%s: %d\n", t("已补单（查询确认）", "Recovered by query"), rep.Outcomes[payrecon.OutcomeRecovered])
	fmt.Fprintf(&b, "%s: %d\n", t("渠道查无此单", "Denied by the provider"), rep.Outcomes[payrecon.OutcomeConfirmedAbsent])
	fmt.Fprintf(&b, "%s: %d\n", t("待人工核对", "Needs review"), rep.Outcomes[payrecon.OutcomeNeedsReview]+rep.Outcomes[payrecon.OutcomeAmountMismatch])
	fmt.Fprintf(&b, "%s: %d\n\n", t("顺延至次日", "Held for tomorrow"), rep.Outcomes[payrecon.OutcomePending])
	fmt.Fprintf(&b, "%s: %s\n", t("回调健康度", "Callback health"), rep.Health)
	return b.String()
}

// rejectCounter counts quarantined notifications per account since a time
// (signature probes excluded). *store.DB satisfies it.
type rejectCounter interface {
	RejectedSince(ctx context.Context, since time.Time) (map[string]int, error)
}

// RejectMonitor alerts when an account receives a burst of rejected
// notifications (bad signatures, wrong merchant…; WeChat Pay's signature
// probes are excluded).
type RejectMonitor struct {
	DB        rejectCounter
	Deliver   Deliverer
	Channels  []string
	Threshold int
	Window    time.Duration
	Interval  time.Duration
	Now       func() time.Time
	Log       *slog.Logger
}

// Run checks every Interval until ctx ends.
func (m *RejectMonitor) Run(ctx context.Context) {
	if m.Threshold <= 0 || m.Window <= 0 || len(m.Channels) == 0 {
		return
	}
	interval := m.Interval
	if interval <= 0 {
		interval = time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		m.Check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Check alerts for each account over the threshold in the current window.
func (m *RejectMonitor) Check(ctx context.Context) {
	now := m.Now()
	counts, err := m.DB.RejectedSince(ctx, now.Add(-m.Window))
	if err != nil {
		m.Log.Warn("reject monitor", "err", err)
		return
	}
	for acct, n := range counts {
		if n < m.Threshold {
			continue
		}
		bucket := now.Truncate(m.Window).UTC().Format("2006-01-02T15:04")
		msg := deliver.Message{Key: "rejects:" + acct + ":" + bucket, Severity: "critical", Account: acct,
			Title: fmt.Sprintf("payrecon: %d rejected notifications for %s in %s", n, acct, m.Window),
			Text:  "bad signatures or wrong merchant (signature probes excluded); see the quarantine table"}
		if err := m.Deliver.Send(ctx, msg, m.Channels...); err != nil {
			m.Log.Warn("alert not delivered", "key", msg.Key, "err", err)
		}
	}
}

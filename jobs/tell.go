package jobs

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
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

// tell e-mails the workbook and tells ops after a run: one daily digest
// per account and day (see digest.go), and separate, immediate alerts for
// the urgent causes (a failed run, trades the provider denies, an e-mail
// that could not be delivered). Everything is in the report's locale.
// Delivery failures are logged and recorded by the dispatcher; they never
// fail the run or block the next day.
func (d *Daily) tell(ctx context.Context, acct Account, rep Report, workbookSHA string, runErr error) {
	// A cancelled run (Ctrl-C, serve stopping) is nobody's failure: no
	// alert, and so no dedup entry that would swallow a real failure later.
	if d.Deliver == nil || payrecon.RunStatusOf(runErr) == payrecon.RunCancelled {
		return
	}
	ctx = context.WithoutCancel(ctx)
	log := d.Log.With("account", acct.Name, "bill_date", rep.Day.String())
	loc := d.Opt.Locale
	if runErr != nil {
		d.alert(ctx, log, runFailedAlert(loc, acct.Name, rep.Day, runErr))
		return
	}
	if m, ok := absentAlert(loc, rep); ok {
		d.alert(ctx, log, m)
	}
	d.alert(ctx, log, deliver.Message{Key: "digest:" + acct.Name + ":" + rep.Day.String(), Severity: d.digestSeverity(rep),
		Account: acct.Name, Locale: loc, Title: digestTitle(loc, rep), Text: d.digestText(rep, recoveredCallbacks(rep))})
	d.emailReport(ctx, log, acct, rep, workbookSHA)
}

// alert sends m to the alert channels (none: nothing).
func (d *Daily) alert(ctx context.Context, log *slog.Logger, m deliver.Message) {
	if len(d.Alerts.Channels) == 0 {
		return
	}
	if err := d.Deliver.Send(ctx, m, d.Alerts.Channels...); err != nil {
		log.Warn("alert not delivered", "key", m.Key, "err", err)
	}
}

// recoveredCallbacks counts the day's dropped payment callbacks the run
// recovered by query.
func recoveredCallbacks(rep Report) int {
	recovered := 0
	for _, r := range rep.Discrepancies {
		if r.Resolution == payrecon.OutcomeRecovered && r.Code == payrecon.MissingLocal && r.Kind == payrecon.EntryPayment {
			recovered++
		}
	}
	return recovered
}

// digestSeverity is warning when something needs a person or crossed an
// alert threshold, info otherwise.
func (d *Daily) digestSeverity(rep Report) string {
	h := rep.Health
	if (d.Alerts.RecoveredMin > 0 && recoveredCallbacks(rep) >= d.Alerts.RecoveredMin) ||
		(d.Alerts.HealthMinE4 > 0 && h.Total() > 0 && h.NotifyShareE4() < d.Alerts.HealthMinE4) {
		return "warning"
	}
	for _, it := range rep.Discrepancies {
		if needsAction(it) {
			return "warning"
		}
	}
	return "info"
}

// emailReport e-mails the workbook to the account's recipients; a failure
// is an urgent alert of its own.
func (d *Daily) emailReport(ctx context.Context, log *slog.Logger, acct Account, rep Report, workbookSHA string) {
	if len(acct.EmailTo) == 0 || rep.Workbook == "" {
		return
	}
	en := d.Opt.Locale == "en"
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
		d.alert(ctx, log, emailFailedAlert(d.Opt.Locale, acct, rep.Day, err))
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
	backfilled := beforeStartBackfilled(rep)
	fmt.Fprintf(&b, "%s: %d\n", t("已补单（查询确认）", "Recovered by query"), rep.Outcomes[payrecon.OutcomeRecovered]-backfilled)
	if backfilled > 0 {
		fmt.Fprintf(&b, "%s: %d\n", t("上线前交易按账单补录", "Backfilled from before go-live"), backfilled)
	}
	fmt.Fprintf(&b, "%s: %d\n", t("渠道查无此单", "Denied by the provider"), rep.Outcomes[payrecon.OutcomeConfirmedAbsent])
	fmt.Fprintf(&b, "%s: %d\n", t("待人工核对", "Needs review"), rep.Outcomes[payrecon.OutcomeNeedsReview]+rep.Outcomes[payrecon.OutcomeAmountMismatch])
	fmt.Fprintf(&b, "%s: %d\n\n", t("顺延至次日", "Held for tomorrow"), rep.Outcomes[payrecon.OutcomePending])
	fmt.Fprintln(&b, healthLine(map[bool]string{true: "en", false: "zh"}[en], rep.Health))
	return b.String()
}

// rejectCounter counts quarantined notifications by account and reason
// since a time (signature probes excluded). *store.DB satisfies it.
type rejectCounter interface {
	RejectReasonsSince(ctx context.Context, since time.Time) (map[string]map[string]int, error)
}

// RejectMonitor alerts when an account receives a burst of rejected
// notifications (bad signatures, wrong merchant…; WeChat Pay's signature
// probes are excluded), naming the top reasons and the command to inspect
// them.
type RejectMonitor struct {
	DB        rejectCounter
	Deliver   Deliverer
	Channels  []string
	Threshold int
	Window    time.Duration
	Interval  time.Duration
	Locale    string
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
	counts, err := m.DB.RejectReasonsSince(ctx, now.Add(-m.Window))
	if err != nil {
		m.Log.Warn("reject monitor", "err", err)
		return
	}
	for acct, reasons := range counts {
		n := 0
		for _, c := range reasons {
			n += c
		}
		if n < m.Threshold {
			continue
		}
		bucket := now.Truncate(m.Window).UTC().Format("2006-01-02T15:04")
		msg := deliver.Message{Key: "rejects:" + acct + ":" + bucket, Severity: "critical", Account: acct, Locale: m.Locale,
			Title: burstTitle(m.Locale, acct, n, m.Window), Text: burstText(m.Locale, acct, reasons, m.Window)}
		if err := m.Deliver.Send(ctx, msg, m.Channels...); err != nil {
			m.Log.Warn("alert not delivered", "key", msg.Key, "err", err)
		}
	}
}

// burstTopReasons is how many reasons a burst alert names.
const burstTopReasons = 5

func burstTitle(loc, acct string, n int, window time.Duration) string {
	if loc == "en" {
		return urgent(loc, "burst", n, acct, window)
	}
	return urgent(loc, "burst", acct, window, n)
}

// burstText names the top reasons with their counts, most frequent first,
// and the quarantine commands that show them.
func burstText(loc, acct string, reasons map[string]int, window time.Duration) string {
	names := make([]string, 0, len(reasons))
	for r := range reasons {
		names = append(names, r)
	}
	slices.SortFunc(names, func(a, b string) int { return cmp.Or(reasons[b]-reasons[a], strings.Compare(a, b)) })
	lines := []string{urgent(loc, "burst.what")}
	for i, r := range names {
		if i == burstTopReasons {
			lines = append(lines, urgent(loc, "burst.more", len(names)-i))
			break
		}
		lines = append(lines, urgent(loc, "burst.reason", r, reasons[r]))
	}
	lines = append(lines, "", urgent(loc, "burst.next", acct, window), urgent(loc, "burst.next.reason", acct, names[0]))
	return strings.Join(lines, "\n")
}

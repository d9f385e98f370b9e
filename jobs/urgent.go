package jobs

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/archive"
	"github.com/payrecon/payrecon/provider"
	"github.com/payrecon/payrecon/reports/deliver"
)

// urgentWords is the vocabulary of the urgent alerts, zh and en. Each
// alert says what happened, why, and what to do next.
var urgentWords = map[string][2]string{
	"failed":            {"payrecon 紧急：对账失败 %s %s", "payrecon urgent: reconciliation failed %s %s"},
	"failed.misconfig":  {"payrecon 紧急：%s 配置错误，对账无法进行", "payrecon urgent: %s is misconfigured, reconciliation cannot run"},
	"cause":             {"原因：%s", "Cause: %s"},
	"cause.misconfig":   {"配置错误（重试无用）：%s", "misconfigured (retrying will not help): %s"},
	"cause.unavailable": {"截止时间前渠道仍未提供账单", "the provider still had no bill at the deadline"},
	"cause.totals":      {"账单自身合计与明细不符，未做任何修复", "the bill's own totals disagree with its rows; nothing was repaired"},
	"cause.other":       {"运行出错", "the run failed"},
	"detail":            {"详情：%s", "Detail: %s"},
	"next.misconfig":    {"下一步：修正配置后运行 payrecon check-config -live -config <配置文件>，再 payrecon reconcile -account %s -date %s", "Next: fix the config, run payrecon check-config -live -config <your config>, then payrecon reconcile -account %s -date %s"},
	"next.unavailable":  {"下一步：payrecon 会在下一个调度窗口重试；也可稍后运行 payrecon reconcile -account %s -date %s", "Next: payrecon retries on its next scheduled window; or run payrecon reconcile -account %s -date %s later"},
	"next.other":        {"下一步：查看日志（journalctl -u payrecon），修复后运行 payrecon reconcile -account %s -date %s", "Next: read the log (journalctl -u payrecon), fix the cause, then run payrecon reconcile -account %s -date %s"},
	"absent":            {"payrecon 紧急：%d 笔渠道查无此单，勿发货 (%s %s)", "payrecon urgent: %d trades the provider denies, do not ship (%s %s)"},
	"absent.what":       {"以下订单我们收到了支付通知，但渠道查询确认没有这笔已支付交易（CONFIRMED_ABSENT）：", "We accepted a payment notification for these orders, and the provider's query confirms no such paid trade (CONFIRMED_ABSENT):"},
	"absent.order":      {"- %s ¥%s", "- %s ¥%s"},
	"absent.next":       {"下一步：勿发货；核对这些通知的来源（伪造或串单）；payrecon review list -account %s -date %s", "Next: do not ship; find where these notifications came from (forged or crossed orders); payrecon review list -account %s -date %s"},
	"email":             {"payrecon 紧急：对账报告邮件发送失败 %s %s", "payrecon urgent: report e-mail undeliverable %s %s"},
	"email.what":        {"工作簿 %s 未能发送给 %s。", "The workbook %s could not be sent to %s."},
	"email.next":        {"下一步：检查 delivery.smtp 与 email_to，运行 payrecon check-config -live -config <配置文件>；工作簿仍在 reports.dir 下", "Next: check delivery.smtp and email_to, run payrecon check-config -live -config <your config>; the workbook is still under reports.dir"},
	"burst":             {"payrecon 紧急：%s 在 %s 内被拒绝的通知 %d 条", "payrecon urgent: %d rejected notifications for %s in %s"},
	"burst.what":        {"主要原因（不含微信支付签名探测）：", "Top reasons (WeChat Pay signature probes excluded):"},
	"burst.reason":      {"- %s：%d 条", "- %s: %d"},
	"burst.next":        {"下一步：payrecon quarantine -config <配置文件> -account %s -since %s 查看；签名错误多为密钥配置或伪造请求，账户不符多为回调地址填错", "Next: payrecon quarantine -config <your config> -account %s -since %s; bad signatures mean a key mix-up or forged requests, account mismatches a notify URL pointing at the wrong account"},
	"burst.next.reason": {"查看某一类：payrecon quarantine -config <配置文件> -account %s -reason %s", "One reason: payrecon quarantine -config <your config> -account %s -reason %s"},
	"burst.more":        {"- … 另有 %d 种原因", "- … and %d more reasons"},
}

// urgent returns the urgent vocabulary entry key in locale, formatted.
func urgent(locale, key string, args ...any) string {
	w := urgentWords[key]
	s := w[0]
	if locale == "en" {
		s = w[1]
	}
	return fmt.Sprintf(s, args...)
}

// runFailedAlert is the alert for a failed run, with its classified cause.
// A misconfiguration is keyed by the account and its hint, not the day, so
// the same mistake alerts once however many days fail on it.
func runFailedAlert(loc, account string, day payrecon.Day, runErr error) deliver.Message {
	m := deliver.Message{Key: "run-failed:" + account + ":" + day.String(), Severity: "critical", Account: account, Locale: loc,
		Title: urgent(loc, "failed", account, day.String())}
	var lines []string
	var tmce *payrecon.TotalsMismatchError
	switch hint := provider.HintOf(runErr); {
	case hint != "":
		sum := sha256.Sum256([]byte(hint))
		m.Key = "misconfigured:" + account + ":" + hex.EncodeToString(sum[:6])
		m.Title = urgent(loc, "failed.misconfig", account)
		detail := runErr.Error()
		if ce := (*provider.ConfigError)(nil); errors.As(runErr, &ce) && ce.Err != nil {
			detail = ce.Err.Error() // the provider's words; the hint is the cause above
		}
		lines = append(lines, urgent(loc, "cause", urgent(loc, "cause.misconfig", hint)),
			urgent(loc, "detail", detail), urgent(loc, "next.misconfig", account, day.String()))
	case errors.Is(runErr, archive.ErrBillUnavailable):
		lines = append(lines, urgent(loc, "cause", urgent(loc, "cause.unavailable")),
			urgent(loc, "detail", runErr.Error()), urgent(loc, "next.unavailable", account, day.String()))
	case errors.As(runErr, &tmce):
		lines = append(lines, urgent(loc, "cause", urgent(loc, "cause.totals")),
			urgent(loc, "detail", runErr.Error()), urgent(loc, "next.other", account, day.String()))
	default:
		lines = append(lines, urgent(loc, "cause", urgent(loc, "cause.other")),
			urgent(loc, "detail", runErr.Error()), urgent(loc, "next.other", account, day.String()))
	}
	m.Text = strings.Join(lines, "\n")
	return m
}

// absentAlert is the alert for the day's trades the provider denies, each
// with its order number and amount, or false when there are none.
func absentAlert(loc string, rep Report) (deliver.Message, bool) {
	var lines []string
	for _, r := range rep.Discrepancies {
		if r.Resolution == payrecon.OutcomeConfirmedAbsent {
			lines = append(lines, urgent(loc, "absent.order", r.OrderNo(), itemFen(r).Yuan()))
		}
	}
	if len(lines) == 0 {
		return deliver.Message{}, false
	}
	text := urgent(loc, "absent.what") + "\n" + strings.Join(lines, "\n") + "\n\n" + urgent(loc, "absent.next", rep.Account, rep.Day.String())
	return deliver.Message{Key: "absent:" + rep.Account + ":" + rep.Day.String(), Severity: "critical", Account: rep.Account, Locale: loc,
		Title: urgent(loc, "absent", len(lines), rep.Account, rep.Day.String()), Text: text}, true
}

// emailFailedAlert is the alert for a workbook e-mail that could not be
// delivered.
func emailFailedAlert(loc string, acct Account, day payrecon.Day, err error) deliver.Message {
	text := urgent(loc, "email.what", acct.Name+"_"+day.String()+".xlsx", strings.Join(acct.EmailTo, ", ")) + "\n" +
		urgent(loc, "detail", err.Error()) + "\n" + urgent(loc, "email.next")
	return deliver.Message{Key: "email-failed:" + acct.Name + ":" + day.String(), Severity: "critical", Account: acct.Name, Locale: loc,
		Title: urgent(loc, "email", acct.Name, day.String()), Text: text}
}

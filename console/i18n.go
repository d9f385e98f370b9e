package console

import (
	"errors"
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
)

// words are the console's words, zh then en.
var words = map[string][2]string{
	"title": {"payrecon 运维控制台", "payrecon ops console"}, "overview": {"概览", "Overview"}, "inbox": {"待处理", "Inbox"},
	"runs": {"对账批次", "Runs"}, "quarantine": {"隔离区", "Quarantine"}, "orders": {"预期订单", "Expected orders"},
	"signin": {"登录", "Sign in"}, "signout": {"退出", "Sign out"}, "token": {"令牌", "Token"}, "signin_failed": {"令牌无效", "Invalid token"},
	"account": {"账户", "Account"}, "day": {"账单日", "Bill day"}, "code": {"差异类型", "Code"}, "state": {"状态", "State"},
	"order": {"订单号", "Order"}, "bill": {"账单", "Bill"}, "ledger": {"账本", "Ledger"}, "at_stake": {"涉及金额", "At stake"},
	"filter": {"筛选", "Filter"}, "all": {"全部", "All"}, "none": {"无", "None"}, "last_run": {"最近对账", "Last run"},
	"accepted_today": {"今日通知（接受）", "Notifications today (accepted)"}, "rejected_today": {"今日通知（拒绝）", "Notifications today (rejected)"},
	"open_items": {"待处理项", "Open items"}, "health14": {"近 14 日回调健康度", "Callback health, last 14 days"},
	"backlog": {"转发积压", "Forwarding backlog"}, "oldest": {"最早", "oldest"}, "workbook": {"对账表", "Workbook"},
	"status": {"状态", "Status"}, "started": {"开始", "Started"}, "duration": {"耗时", "Duration"}, "counts": {"计数", "Counts"},
	"rerun": {"重新对账", "Re-run"}, "rerun_day": {"重新对账某日", "Re-run a day"}, "item": {"差异项", "Item"},
	"note": {"说明", "Note"}, "query_result": {"查询结果", "Query result"}, "recon_state": {"对账状态", "Recon state"},
	"bill_lines":    {"账单原文（当日账单中该项的行）", "The bill's own lines for this item"},
	"notifications": {"原始通知", "Raw notifications"}, "headers": {"请求头", "Headers"}, "audit": {"审计记录", "Audit trail"},
	"requery": {"立即重新查询", "Query again now"}, "resolve": {"处理", "Resolve"}, "remark": {"备注（必填）", "Remark (required)"},
	"accept-provider": {"以渠道为准", "Accept the provider's record"}, "accept-ledger": {"以本地为准", "Accept the ledger's record"},
	"write-off": {"差额核销", "Write off the difference"}, "preview": {"预览：将发生以下变更", "Preview: these changes will be made"},
	"confirm": {"确认执行", "Confirm"}, "cancel": {"取消", "Cancel"}, "field": {"字段", "Field"}, "before": {"之前", "Before"},
	"after": {"之后", "After"}, "operator": {"操作员", "Operator"}, "time": {"时间", "Time"}, "reason": {"原因", "Reason"},
	"resolved": {"已处理，无需操作", "Settled: nothing to do"}, "size": {"大小", "Size"}, "body": {"报文预览", "Body preview"},
	"detail": {"详情", "Detail"}, "no_accept": {"被拒绝的通知不能在此接受：须由渠道重发或经主动查询补单。", "A rejected notification cannot be accepted here: it must come again from the provider, or via a query."},
	"amount": {"金额", "Amount"}, "created": {"创建", "Created"}, "next_check": {"下次检查", "Next check"}, "checks": {"检查次数", "Checks"},
	"last_result": {"最近结果", "Last result"}, "empty": {"没有记录", "Nothing here"}, "error": {"出错了", "Error"},
	"requeried": {"已重新查询", "Queried again"}, "rerun_done": {"已重新对账", "Re-run finished"},
	"rerun_started": {"已开始重新对账：完成后显示在下表（刷新本页查看）", "Re-run started: it shows below when it finishes (reload this page)"}, "evidence": {"依据", "Evidence"},
	"lang_switch": {"English", "中文"}, "queries": {"人工重新查询", "Queries asked again"}, "kind": {"类型", "Kind"}, "trade_status": {"交易状态", "Trade status"},
}

// outcomeWords name the open states.
var outcomeWords = map[payrecon.Outcome][2]string{
	payrecon.OutcomeNeedsReview: {"需人工复核", "Needs review"}, payrecon.OutcomePending: {"待次日（已过保留期）", "Pending (past its hold)"},
	payrecon.OutcomeConfirmedAbsent: {"渠道无此单", "Denied by provider"}, payrecon.OutcomeResolvedManually: {"已人工处理", "Resolved manually"},
	payrecon.OutcomeRecovered: {"已补单", "Recovered"}, payrecon.OutcomeAmountMismatch: {"金额不符（需人工复核）", "Amount differs (needs review)"},
}

func pick(lang string, w [2]string) string {
	if lang == "en" {
		return w[1]
	}
	return w[0]
}

var funcs = template.FuncMap{
	"t": func(lang, key string) string {
		w, ok := words[key]
		if !ok {
			return key
		}
		return pick(lang, w)
	},
	"codeLabel": func(lang string, c payrecon.Code) string { return c.Label(lang) },
	"outcome": func(lang string, o payrecon.Outcome) string {
		if w, ok := outcomeWords[o]; ok {
			return pick(lang, w)
		}
		return string(o)
	},
	"fen":   func(f payrecon.Fen) string { return "¥" + f.String() },
	"side":  side,
	"when":  func(t time.Time) string { return whenIn(t, payrecon.ShanghaiFixed) },
	"join":  strings.Join,
	"other": func(lang string) string { return map[string]string{"en": "zh", "zh": "en"}[lang] },
	"dur": func(a, b time.Time) string {
		if b.IsZero() {
			return ""
		}
		return b.Sub(a).Round(time.Millisecond).String()
	},
	"pct":   func(e4 int) string { return payrecon.Percent(e4) },
	"codes": func() []payrecon.Code { return payrecon.Codes },
	"states": func() []payrecon.Outcome {
		return []payrecon.Outcome{payrecon.OutcomeNeedsReview, payrecon.OutcomeAmountMismatch, payrecon.OutcomePending, payrecon.OutcomeConfirmedAbsent}
	},
	"actions": func() []payrecon.ReviewAction { return payrecon.ReviewActions },
	"preview": func(b []byte, n int) string {
		if len(b) > n {
			return string(b[:n]) + "…"
		}
		return string(b)
	},
}

func side(has bool, f payrecon.Fen) string {
	if !has {
		return "—"
	}
	return "¥" + f.String()
}

func whenIn(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format("2006-01-02 15:04:05 MST")
}

func isNotFound(err error) bool { return errors.Is(err, payrecon.ErrNotFound) }

func isBadRequest(err error) bool {
	return errors.Is(err, payrecon.ErrBadReview) || errors.Is(err, payrecon.ErrNotOpen) || errors.Is(err, errBadForm)
}

var errBadForm = errors.New("bad form")

func badForm(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errBadForm, fmt.Sprintf(format, args...))
}

func isNeedsConfirmation(err error) bool { return errors.Is(err, payrecon.ErrNeedsConfirmation) }

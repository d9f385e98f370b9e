package reports

import (
	"strings"

	"github.com/payrecon/payrecon"
)

// values are the words for the values the workbook shows (kinds, ledger
// statuses, resolutions, how a row ties out, registered orders' states),
// by a key that names the vocabulary and the code: zh, then en. The codes
// themselves stay in their own columns for filters.
var values = map[string][2]string{
	"kind:payment": {"支付", "Payment"}, "kind:refund": {"退款", "Refund"},
	"trade:PAID": {"已支付", "Paid"}, "trade:REFUNDED": {"已退款", "Refunded"},
	"trade:PENDING": {"待支付", "Awaiting payment"}, "trade:CLOSED": {"已关闭", "Closed"},
	"refund:SUCCESS": {"退款成功", "Refunded"}, "refund:PROCESSING": {"退款处理中", "Refund processing"},
	"refund:ABNORMAL": {"退款异常", "Refund abnormal"}, "refund:CLOSED": {"退款关闭", "Refund closed"},
	"outcome:RECOVERED": {"已补单", "Recovered"}, "outcome:CONFIRMED_ABSENT": {"渠道无此单", "Denied by provider"},
	"outcome:PENDING": {"待次日", "Pending (next day)"}, "outcome:NEEDS_REVIEW": {"需人工复核", "Needs review"}, "outcome:RESOLVED_MANUALLY": {"已人工处理", "Resolved manually"},
	"outcome:AMOUNT_MISMATCH": {"金额不符（需人工复核）", "Amount differs (needs review)"},
	"tie:matched":             {"已匹配", "Matched"}, "tie:recovered": {"已补单", "Recovered"}, "tie:carried": {"跨日结转", "Carried over"},
	"tie:backfilled":  {"上线前补录", "Backfilled (before go-live)"},
	"tie:ledger-only": {"仅账本", "Ledger only"}, "tie:bill-only": {"仅账单", "Bill only"}, "tie:mismatched": {"不一致", "Mismatched"},
	"order:paid": {"已支付", "Paid"}, "order:recovered": {"已补单", "Recovered"},
	"order:waiting": {"待支付", "Waiting"}, "order:expired": {"已过期", "Expired"},
	"bill:SUCCESS": {"成功", "Success"}, "bill:TRADE_SUCCESS": {"交易成功", "Trade success"},
	"bill:REFUND/SUCCESS": {"退款成功", "Refund success"}, "bill:REVOKED": {"已撤销", "Revoked"},
	"bill:REFUND": {"退款", "Refund"},
}

// value is the word for a code in vocabulary voc ("kind", "trade",
// "refund", "outcome", "tie", "order", "bill"); an unknown code is shown
// as it is, and no code as nothing.
func (w *Workbook) value(voc, code string) string {
	if code == "" {
		return ""
	}
	v, ok := values[voc+":"+code]
	if !ok {
		return code
	}
	if w.meta.Locale == "en" {
		return v[1]
	}
	return v[0]
}

// status is a ledger status in words: a trade's, or a refund's for a
// refund row.
func (w *Workbook) status(kind payrecon.EntryKind, s string) string {
	if kind == payrecon.EntryRefund {
		return w.value("refund", s)
	}
	return w.value("trade", s)
}

// notes are the diff's notes (English, as reconcile writes them) in
// Chinese; a note ending in a value ("ledger says PAID", "ledger has it on
// 2026-11-19") is matched by its prefix.
var notes = []struct{ en, zh string }{
	{"same trade already on this bill", "同一交易在本账单中重复"},
	{"same refund already on this bill", "同一退款在本账单中重复"},
	{"no notification received", "未收到支付通知"},
	{"no refund notification received", "未收到退款通知"},
	{"bill says revoked", "账单显示已撤销"},
	{"order amounts differ", "订单金额不一致"},
	{"refund amounts differ", "退款金额不一致"},
	{"fee differs from the agreed rate", "手续费与约定费率不符"},
	{"fee differs from the bill's own rate", "手续费与账单所列费率不符"},
	{"bill states currency ", "账单币种为 "},
	{"ledger has it paid outside the hold window", "账本中的支付时间超出保留窗口"},
	{"ledger has it refunded outside the hold window", "账本中的退款时间超出保留窗口"},
	{"notified, not on the bill", "已通知，账单中没有"},
	{"refund notified, not on the bill", "退款已通知，账单中没有"},
	{"on an adjacent day's bill", "在相邻日期的账单中"},
	{"bill says paid, ledger says ", "账单显示已支付，账本状态为 "},
	{"bill has the refund, ledger says ", "账单有此退款，账本状态为 "},
	{"ledger has it on ", "账本记在 "},
}

// note is a diff note in the workbook's language (notes are written in
// English; an unknown one is shown as it is).
func (w *Workbook) note(kind payrecon.EntryKind, s string) string {
	if w.meta.Locale == "en" || s == "" {
		return s
	}
	for _, n := range notes {
		if s == n.en {
			return n.zh
		}
	}
	for _, n := range notes {
		if rest, ok := strings.CutPrefix(s, n.en); ok && strings.HasSuffix(n.en, " ") {
			return n.zh + w.status(kind, rest)
		}
	}
	return s
}

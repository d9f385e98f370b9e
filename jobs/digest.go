package jobs

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/payrecon/payrecon"
)

// DigestOrders is how many order numbers the digest lists per category;
// the rest are counted ("… and N more").
const DigestOrders = 10

// words is the digest's and the alerts' vocabulary, zh and en.
var words = map[string][2]string{
	"digest":               {"payrecon 对账日报 %s %s", "payrecon daily digest %s %s"},
	"digest.act":           {"：%d 项需处理，涉及 %s", ": %d items need action, %s at stake"},
	"digest.clear":         {"：无需处理", ": nothing to do"},
	"bill":                 {"账单：支付 %d 笔 ¥%s，退款 %d 笔 ¥%s，手续费 ¥%s，净结算 ¥%s", "Bill: %d payments ¥%s, %d refunds ¥%s, fees ¥%s, net settlement ¥%s"},
	"empty":                {"账单：当日无交易", "Bill: no business that day"},
	"categories":           {"差异：", "Discrepancies:"},
	"none":                 {"差异：无", "Discrepancies: none"},
	"category":             {"- %s：%d 笔 ¥%s", "- %s: %d, ¥%s"},
	"order":                {"  · %s ¥%s %s", "  · %s ¥%s %s"},
	"more":                 {"  · … 另有 %d 条", "  · … and %d more"},
	"did":                  {"payrecon 已处理：", "payrecon already did:"},
	"did.recovered":        {"- 补回 %d 笔（渠道查询确认，已补单并留审计记录）", "- recovered %d (confirmed by a provider query, ledger repaired with an audit trail)"},
	"did.backfilled":       {"- 上线前交易按账单补录 %d 笔（渠道查询确认，source=bill，不算回调丢失）", "- backfilled %d from before go-live (confirmed by a provider query, source=bill; not dropped callbacks)"},
	"did.absent":           {"- 标记 %d 笔渠道查无此单（已单独紧急告警）", "- flagged %d the provider denies (sent as a separate urgent alert)"},
	"did.pending":          {"- %d 笔待次日账单再核对", "- held %d for the next day's bill"},
	"did.carried":          {"- %d 笔跨日结转", "- carried %d over to an adjacent day"},
	"did.nothing":          {"- 无需修复", "- nothing needed repair"},
	"warn.recovered":       {"⚠ 补回 %d 笔丢失的支付回调（阈值 %d）：请检查回调地址与服务可用性", "⚠ %d dropped payment callbacks recovered (threshold %d): check the notify URL and that serve is reachable"},
	"warn.health":          {"⚠ 回调健康度 %s 低于 %s", "⚠ callback health %s below %s"},
	"health":               {"回调健康度：%s（通知 %d/%d，查询补回 %d，仅在账单 %d）", "Callback health: %s (by notification %d/%d, by query %d, only on the bill %d)"},
	"next":                 {"下一步：payrecon review list -account %s -date %s", "Next: payrecon review list -account %s -date %s"},
	"workbook":             {"工作簿：%s", "Workbook: %s"},
	"res:":                 {"未查询", "not chased"},
	"res:RECOVERED":        {"已补单", "recovered"},
	"res:CONFIRMED_ABSENT": {"渠道无此单", "denied by provider"},
	"res:PENDING":          {"待次日", "held for next day"},
	"res:NEEDS_REVIEW":     {"需人工复核", "needs review"},
	"res:AMOUNT_MISMATCH":  {"渠道确认金额不同，需人工复核", "provider confirms another amount: needs review"},
}

// say returns the vocabulary entry key in locale, formatted with args.
func say(locale, key string, args ...any) string {
	w, ok := words[key]
	if !ok {
		return key
	}
	s := w[0]
	if locale == "en" {
		s = w[1]
	}
	if len(args) == 0 {
		return s
	}
	return fmt.Sprintf(s, args...)
}

// needsAction reports whether a discrepancy still asks a person to act:
// a problem (not matched, not carried over) that was not recovered.
func needsAction(d payrecon.Discrepancy) bool {
	return d.Code.IsProblem() && d.Resolution != payrecon.OutcomeRecovered
}

// stakeFen is the amount of a discrepancy as the digest shows it: the
// difference when both sides have it, else the side that has it.
func stakeFen(d payrecon.Discrepancy) payrecon.Fen {
	f := d.LedgerFen
	switch {
	case d.HasBill && d.HasLedger:
		f = d.DiffFen()
	case d.HasBill:
		f = d.BillFen
	}
	return max(f, -f)
}

// itemFen is the amount of a discrepancy in its category: the difference
// for an amount mismatch, else the bill's amount, or the ledger's when the
// bill has none.
func itemFen(d payrecon.Discrepancy) payrecon.Fen {
	f := d.LedgerFen
	switch {
	case d.Code == payrecon.AmountMismatch:
		f = d.DiffFen()
	case d.HasBill:
		f = d.BillFen
	}
	return max(f, -f)
}

// digestTitle says the account, day and what is left to do.
func digestTitle(locale string, rep Report) string {
	n, stake := 0, payrecon.Fen(0)
	for _, d := range rep.Discrepancies {
		if needsAction(d) {
			n++
			stake += stakeFen(d)
		}
	}
	title := say(locale, "digest", rep.Account, rep.Day.String())
	if n == 0 {
		return title + say(locale, "digest.clear")
	}
	return title + say(locale, "digest.act", n, stake.Yuan())
}

// digestText is the body of the daily digest: the bill's totals, each
// category with its count, amount and up to [DigestOrders] order numbers
// that need action, what payrecon did, the warnings that crossed their
// thresholds, and the next step. It is plain text that reads as markdown.
func (d *Daily) digestText(rep Report, recovered int) string {
	loc := d.Opt.Locale
	var lines []string
	add := func(s string) { lines = append(lines, s) }
	if b := rep.Totals.Bill; rep.EmptyDay && b.Payments == 0 && b.Refunds == 0 {
		add(say(loc, "empty"))
	} else {
		add(say(loc, "bill", b.Payments, b.PaymentsFen.Yuan(), b.Refunds, b.RefundsFen.Yuan(), b.FeesFen.Yuan(), b.NetFen.Yuan()))
	}
	lines = append(lines, digestCategories(loc, rep.Discrepancies)...)
	lines = append(lines, "", say(loc, "did"))
	lines = append(lines, digestDone(loc, rep)...)
	if d.Alerts.RecoveredMin > 0 && recovered >= d.Alerts.RecoveredMin {
		add(say(loc, "warn.recovered", recovered, d.Alerts.RecoveredMin))
	}
	h := rep.Health
	if d.Alerts.HealthMinE4 > 0 && h.Total() > 0 && h.NotifyShareE4() < d.Alerts.HealthMinE4 {
		add(say(loc, "warn.health", payrecon.Percent(h.NotifyShareE4()), payrecon.Percent(d.Alerts.HealthMinE4)))
	}
	if h.Total() > 0 {
		add(healthLine(loc, h))
	}
	add("")
	add(say(loc, "next", rep.Account, rep.Day.String()))
	if rep.Workbook != "" {
		add(say(loc, "workbook", filepath.Join(rep.Account, filepath.Base(rep.Workbook))))
	}
	return strings.Join(lines, "\n")
}

// healthLine is the callback health in words of locale.
func healthLine(loc string, h payrecon.CallbackHealth) string {
	return say(loc, "health", payrecon.Percent(h.NotifyShareE4()), h.Notify, h.Total(), h.Query, h.BillOnly)
}

// digestCategories lists each diff code but MATCHED with its count and
// amount, and under it up to DigestOrders order numbers that need action.
func digestCategories(loc string, ds []payrecon.Discrepancy) []string {
	byCode := map[payrecon.Code][]payrecon.Discrepancy{}
	for _, d := range ds {
		if d.Code != payrecon.Matched {
			byCode[d.Code] = append(byCode[d.Code], d)
		}
	}
	if len(byCode) == 0 {
		return []string{say(loc, "none")}
	}
	lines := []string{say(loc, "categories")}
	for _, c := range payrecon.Codes {
		items := byCode[c]
		if len(items) == 0 {
			continue
		}
		var sum payrecon.Fen
		for _, d := range items {
			sum += itemFen(d)
		}
		lines = append(lines, say(loc, "category", c.Label(loc), len(items), sum.Yuan()))
		shown, more := 0, 0
		for _, d := range items {
			if !needsAction(d) {
				continue
			}
			if shown == DigestOrders {
				more++
				continue
			}
			shown++
			lines = append(lines, say(loc, "order", d.OrderNo(), itemFen(d).Yuan(), say(loc, "res:"+string(d.Resolution))))
		}
		if more > 0 {
			lines = append(lines, say(loc, "more", more))
		}
	}
	return lines
}

// digestDone is what the run already did about the day's discrepancies.
func digestDone(loc string, rep Report) []string {
	var lines []string
	carried := rep.Counts[payrecon.CrossDay]
	backfilled := beforeStartBackfilled(rep)
	for _, l := range []struct {
		key string
		n   int
	}{
		{"did.recovered", rep.Outcomes[payrecon.OutcomeRecovered] - backfilled},
		{"did.backfilled", backfilled},
		{"did.absent", rep.Outcomes[payrecon.OutcomeConfirmedAbsent]},
		{"did.pending", rep.Outcomes[payrecon.OutcomePending]},
		{"did.carried", carried},
	} {
		if l.n > 0 {
			lines = append(lines, say(loc, l.key, l.n))
		}
	}
	if len(lines) == 0 {
		lines = append(lines, say(loc, "did.nothing"))
	}
	return lines
}

// beforeStartBackfilled counts the run's BEFORE_START rows it backfilled:
// trades from before go-live, recovered but not dropped callbacks.
func beforeStartBackfilled(rep Report) int {
	n := 0
	for _, r := range rep.Discrepancies {
		if r.Code == payrecon.BeforeStart && r.Resolution == payrecon.OutcomeRecovered {
			n++
		}
	}
	return n
}

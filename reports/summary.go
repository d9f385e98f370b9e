package reports

import (
	"fmt"
	"slices"

	"github.com/xuri/excelize/v2"

	"github.com/payrecon/payrecon"
)

// Summary are the figures of the 汇总 sheet.
type Summary struct {
	Bill        payrecon.BillTotals
	Totals      *payrecon.TieOut
	Orders      []Order
	Health      *payrecon.CallbackHealth
	HealthHours []payrecon.HourHealth
	Trend       []DayHealth
	Attention   Attention
	Counts      map[payrecon.Code]int
	BillFen     map[payrecon.Code]payrecon.Fen
	LedgerFen   map[payrecon.Code]payrecon.Fen
	Resolutions map[payrecon.Outcome]int
}

// Order is a registered expected order, for the summary sheet.
type Order struct {
	OutTradeNo string
	AmountFen  payrecon.Fen
	Status     string // waiting, paid, recovered, expired
	LastResult string
}

// SetOrders adds the day's registered orders (same-day sweep) to the
// summary sheet: counts by status and every order still unpaid.
func (w *Workbook) SetOrders(orders []Order) { w.sum.Orders = orders }

// SetTotals adds how the day ties out to the summary sheet: bill, ledger
// before the run, repairs, ledger after and the difference still open,
// then the open difference by category. Without it the summary has no
// tie-out section.
func (w *Workbook) SetTotals(t payrecon.TieOut) { w.sum.Totals = &t }

// SetHealth adds the day's callback health to the summary sheet.
func (w *Workbook) SetHealth(h payrecon.CallbackHealth, hours []payrecon.HourHealth) {
	w.sum.Health = &h
	w.sum.HealthHours = hours
}

// writeSummary writes the 汇总 sheet, section by section, top to bottom.
// The sections are separated by one blank row.
func (w *Workbook) writeSummary() error {
	s := &summaryWriter{wb: w, sheet: w.t("summary"), row: 1}
	s.banner()
	s.run()
	s.totals()
	s.open()
	s.codes()
	s.health()
	s.orders()
	s.resolutions()
	s.trend()
	s.widths()
	if s.err == nil {
		s.err = w.printSetup(s.sheet, 0)
	}
	if s.err == nil { // the sheet is not streamed: excelize writes the range set here
		last, _ := excelize.CoordinatesToCellName(max(s.cols, 1), max(s.last, 1))
		s.err = w.f.SetSheetDimension(s.sheet, "A1:"+last)
	}
	return s.err
}

// summaryWriter writes the rows of the 汇总 sheet. row is the next row to
// write. The first error is kept in err, and every later call does nothing,
// so a section is a plain list of rows; writeSummary returns err.
type summaryWriter struct {
	wb    *Workbook
	sheet string
	row   int
	cols  int // the widest row written
	last  int // the last row written (a chart may cover rows below it)
	err   error
}

// run is the run the workbook reports: account, provider, day, run,
// trigger, when it was generated and the bill file's hash.
func (s *summaryWriter) run() {
	m := s.wb.meta
	s.header("item", "")
	s.item("account", m.Account)
	s.item("provider", string(m.Provider))
	s.item("date", m.Date.String())
	s.item("run", m.RunID)
	s.item("trigger", m.Trigger)
	at := m.GeneratedAt.In(m.Loc)
	s.item("generated", s.wb.time(at), "UTC"+at.Format("-07:00"))
	s.item("bill_file", excelize.Cell{StyleID: s.wb.styles.wrap, Value: m.BillSHA256})
	if s.err == nil && len(m.BillSHA256) > 32 { // the hash wraps onto two lines
		s.err = s.wb.f.SetRowHeight(s.sheet, s.row-1, 30)
	}
}

// totals is the day's tie-out: for payments, refunds, fees and net, the
// bill, the ledger before the run, the repairs, the ledger after and the
// difference still open (bill − ledger after); nothing when not set.
func (s *summaryWriter) totals() {
	t := s.wb.sum.Totals
	if t == nil {
		return
	}
	s.blank()
	s.header("item", "bill", "ledger_before", "repaired", "ledger_after", "open")
	s.measures([]payrecon.Totals{t.Bill, t.LedgerBefore, t.Repaired, t.LedgerAfter, t.Open})
}

// open itemises the open difference by category, one column each, and
// their sum (the open column of the tie-out); nothing when not set.
func (s *summaryWriter) open() {
	t := s.wb.sum.Totals
	if t == nil {
		return
	}
	s.blank()
	keys := []string{"open_by"}
	cols := make([]payrecon.Totals, 0, len(payrecon.OpenCategories)+1)
	for _, c := range payrecon.OpenCategories {
		keys = append(keys, "open_"+string(c))
		cols = append(cols, t.OpenBy[c])
	}
	s.header(append(keys, "open")...)
	s.measures(append(cols, t.Open))
}

// measures writes one row per measure with one cell per column of
// totals: counts and amounts of payments (the gross) and refunds, fees
// (net of those returned on refunds), of which returned on refunds, net
// (payments − refunds − fees), the discounts the merchant bears, and the
// net settlement (net − discounts: what the merchant is paid).
func (s *summaryWriter) measures(cols []payrecon.Totals) {
	w := s.wb
	row := func(key string, f func(payrecon.Totals) any) {
		vals := []any{w.t(key)}
		for _, c := range cols {
			vals = append(vals, f(c))
		}
		s.cells(vals...)
	}
	row("pay_count", func(t payrecon.Totals) any { return t.Payments })
	row("pay_amount", func(t payrecon.Totals) any { return w.money(t.PaymentsFen) })
	row("ref_count", func(t payrecon.Totals) any { return t.Refunds })
	row("ref_amount", func(t payrecon.Totals) any { return w.money(t.RefundsFen) })
	row("fee", func(t payrecon.Totals) any { return w.money(t.FeesFen) })
	row("fees_returned", func(t payrecon.Totals) any { return w.money(t.FeesReturnedFen) })
	row("net", func(t payrecon.Totals) any { return w.money(t.NetFen) })
	row("discounts", func(t payrecon.Totals) any { return w.money(t.DiscountsFen) })
	row("settlement", func(t payrecon.Totals) any { return w.money(t.SettlementFen) })
}

// codes has one row per diff code: its label, count and the bill's and the
// ledger's amounts.
func (s *summaryWriter) codes() {
	sum, w := s.wb.sum, s.wb
	s.blank()
	s.header("code", "category", "count", "bill_amount", "ledger_amount")
	for _, c := range payrecon.Codes {
		s.cells(string(c), c.Label(w.meta.Locale), sum.Counts[c], w.money(sum.BillFen[c]), w.money(sum.LedgerFen[c]))
	}
}

// health is the day's callback health, then per hour (hours without trades
// left out); nothing when the health was not set.
func (s *summaryWriter) health() {
	h := s.wb.sum.Health
	if h == nil {
		return
	}
	s.blank()
	s.header("health", "count")
	s.item("by_notify", h.Notify)
	s.item("by_query", h.Query)
	s.item("bill_only", h.BillOnly)
	s.item("share", s.wb.percent(h.NotifyShareE4()))
	if len(s.wb.sum.HealthHours) == 0 {
		return
	}
	s.blank()
	s.header("hour", "by_notify", "by_query", "bill_only", "share")
	for _, hh := range s.wb.sum.HealthHours {
		if hh.Total() > 0 {
			s.cells(fmt.Sprintf("%02d:00", hh.Hour), hh.Notify, hh.Query, hh.BillOnly, s.wb.percent(hh.NotifyShareE4()))
		}
	}
}

// orders counts the registered orders by status and lists those not
// confirmed paid; nothing when there are none.
func (s *summaryWriter) orders() {
	orders := s.wb.sum.Orders
	if len(orders) == 0 {
		return
	}
	byStatus := map[string]int{}
	for _, o := range orders {
		byStatus[o.Status]++
	}
	s.blank()
	s.header("orders", "count", "code")
	for _, st := range []string{"paid", "recovered", "waiting", "expired"} {
		s.cells(s.wb.value("order", st), byStatus[st], st)
	}
	s.blank()
	s.header("unpaid", "amount", "status", "code", "query")
	for _, o := range orders {
		if o.Status == "waiting" || o.Status == "expired" {
			s.cells(o.OutTradeNo, s.wb.money(o.AmountFen), s.wb.value("order", o.Status), o.Status, o.LastResult)
		}
	}
}

// resolutions counts the discrepancies by how they were resolved, in
// outcome order, then those without one ("n/a").
func (s *summaryWriter) resolutions() {
	counts := s.wb.sum.Resolutions
	s.blank()
	s.header("resolution", "count", "code")
	for _, r := range append(slices.Clone(payrecon.Outcomes), "") {
		if _, ok := counts[r]; !ok {
			continue
		}
		name := s.wb.value("outcome", string(r))
		if name == "" {
			name = s.wb.t("n/a")
		}
		s.cells(name, counts[r], string(r))
	}
}

// widths sets the widths of columns A to F.
func (s *summaryWriter) widths() {
	for i, wd := range []float64{30, 36, 16, 16, 16, 16} {
		col := string(rune('A' + i))
		if s.err == nil {
			s.err = s.wb.f.SetColWidth(s.sheet, col, col, wd)
		}
	}
}

// blank skips a row.
func (s *summaryWriter) blank() { s.row++ }

// header writes a row of the words for keys in the header style.
func (s *summaryWriter) header(keys ...string) {
	vals := make([]any, len(keys))
	for i, k := range keys {
		vals[i] = excelize.Cell{StyleID: s.wb.styles.header, Value: s.wb.t(k)}
	}
	s.cells(vals...)
}

// item writes a row of the word for key followed by vals.
func (s *summaryWriter) item(key string, vals ...any) {
	s.cells(append([]any{s.wb.t(key)}, vals...)...)
}

// cells writes vals from column A of the current row and moves to the next
// row. An excelize.Cell is written as its value in its style.
func (s *summaryWriter) cells(vals ...any) {
	s.cols = max(s.cols, len(vals))
	s.last = s.row
	for i, v := range vals {
		if s.err != nil {
			return
		}
		ref, err := excelize.CoordinatesToCellName(i+1, s.row)
		if err != nil {
			s.err = err
			return
		}
		c, styled := v.(excelize.Cell)
		if styled {
			v = c.Value
		}
		s.err = s.wb.f.SetCellValue(s.sheet, ref, v)
		if styled && s.err == nil {
			s.err = s.wb.f.SetCellStyle(s.sheet, ref, ref, c.StyleID)
		}
	}
	s.row++
}

// Attention is what the banner of 汇总 reports: how many discrepancies
// still need someone to act, the amount at stake, and how severe it is.
type Attention struct {
	Items    int
	AtStake  payrecon.Fen
	Severity int // severityNone, severityWarn or severityAct
}

// attention counts the discrepancies that need action: every problem (see
// [payrecon.Code.IsProblem]) not recovered. Only items held for the next
// day (PENDING) warn; anything else (NEEDS_REVIEW, CONFIRMED_ABSENT, not
// chased) asks for action. The amount at stake of an item is the
// difference when both sides have it, else the side that has it; an item
// in another currency than CNY adds nothing to it.
func attention(ds []payrecon.Discrepancy) Attention {
	var a Attention
	for _, d := range ds {
		if !d.Code.IsProblem() || d.Resolution == payrecon.OutcomeRecovered {
			continue
		}
		a.Items++
		switch {
		case payrecon.IsForeignCurrency(d.Currency): // not fen: counted, never added to a yuan amount
		case d.HasBill && d.HasLedger:
			a.AtStake += absFen(d.DiffFen())
		case d.HasBill:
			a.AtStake += absFen(d.BillFen)
		default:
			a.AtStake += absFen(d.LedgerFen)
		}
		sev := severityAct
		if d.Resolution == payrecon.OutcomePending {
			sev = severityWarn
		}
		a.Severity = max(a.Severity, sev)
	}
	return a
}

func absFen(f payrecon.Fen) payrecon.Fen { return max(f, -f) }

// banner is the first line of 汇总, across the sheet's columns: "N 项需要
// 处理" and the amount at stake, coloured by severity.
func (s *summaryWriter) banner() {
	a, w := s.wb.sum.Attention, s.wb
	text := "无需处理：所有差异均已处理或结转"
	if w.meta.Locale == "en" {
		text = "Nothing needs action: every discrepancy is resolved or carried over"
	}
	switch {
	case a.Items > 0 && w.meta.Locale == "en":
		text = fmt.Sprintf("%d %s, %s at stake", a.Items, plural(a.Items, "item needs action", "items need action"), yuanText(a.AtStake))
	case a.Items > 0:
		text = fmt.Sprintf("%d 项需要处理，涉及金额 %s", a.Items, yuanText(a.AtStake))
	}
	row := s.row
	s.cells(excelize.Cell{StyleID: w.styles.banner[a.Severity], Value: text})
	s.blank()
	if s.err != nil {
		return
	}
	from, to := fmt.Sprintf("A%d", row), fmt.Sprintf("F%d", row)
	if s.err = w.f.MergeCell(s.sheet, from, to); s.err == nil {
		s.err = w.f.SetCellStyle(s.sheet, from, to, w.styles.banner[a.Severity])
	}
	if s.err == nil {
		s.err = w.f.SetRowHeight(s.sheet, row, 26)
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// yuanText writes an amount in fen as yuan with the currency sign and
// thousands separators, e.g. "¥1,234.50" or "-¥7.00".
func yuanText(f payrecon.Fen) string {
	sign, n := "", int64(f)
	if n < 0 {
		sign, n = "-", -n
	}
	whole := fmt.Sprint(n / 100)
	for i := len(whole) - 3; i > 0; i -= 3 {
		whole = whole[:i] + "," + whole[i:]
	}
	return fmt.Sprintf("%s¥%s.%02d", sign, whole, n%100)
}

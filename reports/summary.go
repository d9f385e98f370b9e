package reports

import (
	"fmt"
	"maps"
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
	s.run()
	s.totals()
	s.open()
	s.codes()
	s.health()
	s.orders()
	s.resolutions()
	s.widths()
	if s.err == nil { // the sheet is not streamed: excelize writes the range set here
		last, _ := excelize.CoordinatesToCellName(max(s.cols, 1), max(s.row-1, 1))
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
	s.item("generated", m.GeneratedAt.In(m.Loc).Format("2006-01-02 15:04:05 MST"))
	s.item("bill_file", m.BillSHA256)
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

// measures writes one row per measure (counts and amounts of payments
// and refunds, fees, net) with one cell per column of totals.
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
	row("net", func(t payrecon.Totals) any { return w.money(t.NetFen) })
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
	s.item("share", payrecon.Percent(h.NotifyShareE4()))
	if len(s.wb.sum.HealthHours) == 0 {
		return
	}
	s.blank()
	s.header("hour", "by_notify", "by_query", "bill_only", "share")
	for _, hh := range s.wb.sum.HealthHours {
		if hh.Total() > 0 {
			s.cells(fmt.Sprintf("%02d:00", hh.Hour), hh.Notify, hh.Query, hh.BillOnly, payrecon.Percent(hh.NotifyShareE4()))
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
	s.header("orders", "count")
	for _, st := range []string{"paid", "recovered", "waiting", "expired"} {
		s.cells(st, byStatus[st])
	}
	s.blank()
	s.header("unpaid", "amount", "status", "query")
	for _, o := range orders {
		if o.Status == "waiting" || o.Status == "expired" {
			s.cells(o.OutTradeNo, yuan(o.AmountFen), o.Status, o.LastResult)
		}
	}
}

// resolutions counts the discrepancies by how they were resolved, in
// outcome order ("n/a" for none).
func (s *summaryWriter) resolutions() {
	counts := s.wb.sum.Resolutions
	s.blank()
	s.header("resolution", "count")
	for _, r := range slices.Sorted(maps.Keys(counts)) {
		name := string(r)
		if name == "" {
			name = s.wb.t("n/a")
		}
		s.cells(name, counts[r])
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

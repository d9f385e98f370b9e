// Package reports writes the accountant's daily workbook: one .xlsx per
// (account, day) with the sheets 汇总 (summary and tie-out), 差异
// (discrepancies), 明细 (every payment of the day) and 退款 (every
// refund). Detail rows are streamed with excelize's StreamWriter, so a million-row day needs little memory, and
// detail sheets are split before Excel's 1,048,576-row limit.
//
// Money is integer fen everywhere in payrecon; the only conversion to a
// floating-point number happens here, at the Excel boundary, because an
// Excel number is a double. fen/100 written with the shortest round-trip
// formatting is exactly the two-decimal amount for any realistic value.
package reports

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/payrecon/payrecon"
)

// MaxRowsPerSheet is where a detail sheet is split (Excel's limit is
// 1,048,576 rows including the header).
const MaxRowsPerSheet = 1_000_000

// Meta describes the run a workbook reports.
type Meta struct {
	Account     string
	Provider    payrecon.Provider
	Date        payrecon.Day
	Locale      string // "zh" (default) or "en"
	Loc         *time.Location
	RunID       int64
	Trigger     string
	GeneratedAt time.Time
	BillSHA256  string
	BillOrigin  string
	// RowsPerSheet is where detail sheets split (default MaxRowsPerSheet).
	RowsPerSheet int
	// TmpDir is where rows spill while the workbook is built (excelize's
	// temp files, hundreds of MB for a million-row day); empty: the
	// system's temp dir. [Workbook.Close] removes them.
	TmpDir string
}

// Workbook is a workbook being written.
type Workbook struct {
	meta   Meta
	f      *excelize.File
	styles styles
	detail *sheet
	refund *sheet
	sum    Summary
	tables int
	// dims is each streamed sheet's used range, by name, as closed.
	dims   map[string]string
	closed bool
}

// tableName names the next Excel table (each sheet's autofilter) uniquely.
func (w *Workbook) tableName() string {
	w.tables++
	return fmt.Sprintf("T%d", w.tables)
}

type sheet struct {
	wb     *Workbook
	base   string
	part   int
	name   string
	sw     *excelize.StreamWriter
	rows   int // data rows in the current part
	header []string
	widths []float64
	row    []any            // the row being written, reused
	cells  [6]excelize.Cell // its styled cells, reused
	styled int              // how many of cells the row uses
}

// New starts a workbook. Call Add for every diff item, then Finish.
func New(meta Meta) (*Workbook, error) {
	if meta.Loc == nil {
		meta.Loc = payrecon.ShanghaiFixed
	}
	if meta.RowsPerSheet <= 0 || meta.RowsPerSheet > MaxRowsPerSheet {
		meta.RowsPerSheet = MaxRowsPerSheet
	}
	f := excelize.NewFile(excelize.Options{TmpDir: meta.TmpDir})
	w := &Workbook{meta: meta, f: f, dims: map[string]string{}, sum: Summary{Counts: map[payrecon.Code]int{}, BillFen: map[payrecon.Code]payrecon.Fen{},
		LedgerFen: map[payrecon.Code]payrecon.Fen{}, Resolutions: map[payrecon.Outcome]int{}}}
	var err error
	if w.styles, err = newStyles(f); err != nil {
		return nil, err
	}
	// Sheet order: summary, discrepancies, detail, refunds.
	if err := f.SetSheetName("Sheet1", w.t("summary")); err != nil {
		return nil, err
	}
	for _, s := range []string{"discrepancies", "detail", "refunds"} {
		if _, err := f.NewSheet(w.t(s)); err != nil {
			return nil, err
		}
	}
	// The summary is the active sheet, set before any sheet is streamed:
	// set after, excelize would read every streamed sheet back to do it.
	f.SetActiveSheet(0)
	w.detail = &sheet{wb: w, base: w.t("detail"), header: w.headers("detail"), widths: []float64{24, 32, 16, 16, 12, 20, 12, 18, 14, 36, 22, 14, 14}}
	w.refund = &sheet{wb: w, base: w.t("refunds"), header: w.headers("refunds"), widths: []float64{24, 24, 32, 16, 16, 12, 20, 12, 18, 14, 36, 22, 14, 14}}
	return w, nil
}

var words = map[string][2]string{
	"summary": {"汇总", "Summary"}, "discrepancies": {"差异", "Discrepancies"}, "detail": {"明细", "Details"}, "refunds": {"退款", "Refunds"},
	"account": {"账户", "Account"}, "provider": {"渠道", "Provider"}, "date": {"账单日期", "Bill date"}, "run": {"运行编号", "Run"},
	"trigger": {"触发方式", "Trigger"}, "generated": {"生成时间", "Generated at"}, "bill_file": {"账单文件 SHA-256", "Bill file SHA-256"},
	"item": {"项目", "Item"}, "bill": {"账单", "Bill"}, "ledger": {"账本", "Ledger"}, "diff": {"差额", "Difference"},
	"ledger_before": {"账本（运行前）", "Ledger before the run"}, "repaired": {"本次补单", "Repaired by the run"},
	"ledger_after": {"账本（运行后）", "Ledger after the run"}, "open": {"未结差额", "Still open"},
	"open_by": {"未结差额分类", "Still open, by category"}, "open_PENDING": {"待次日 PENDING", "Pending PENDING"},
	"open_NEEDS_REVIEW":     {"需人工复核 NEEDS_REVIEW", "Needs review NEEDS_REVIEW"},
	"open_CONFIRMED_ABSENT": {"渠道无此单 CONFIRMED_ABSENT", "Denied by provider CONFIRMED_ABSENT"},
	"open_CROSS_DAY":        {"跨日结转 CROSS_DAY", "Carried across days CROSS_DAY"}, "tie": {"核对", "Tie-out"},
	"ledger_status": {"账本状态", "Ledger status"},
	"pay_count":     {"交易笔数", "Payments"}, "pay_amount": {"交易金额（元）", "Payment amount (yuan)"},
	"ref_count": {"退款笔数", "Refunds"}, "ref_amount": {"退款金额（元）", "Refund amount (yuan)"},
	"fee": {"手续费（元）", "Fees (yuan)"}, "net": {"净额（元）", "Net (yuan)"},
	"fees_returned": {"其中退款退还手续费（元）", "of which returned on refunds (yuan)"},
	"discounts":     {"商家承担优惠（元）", "Discounts borne by the merchant (yuan)"},
	"settlement":    {"应结净额（元）", "Net settlement (yuan)"},
	"appid":         {"应用ID", "App ID"}, "discount": {"商家优惠（元）", "Merchant discount (yuan)"},
	"category": {"分类", "Category"}, "code": {"代码", "Code"}, "label": {"说明", "Label"}, "count": {"笔数", "Count"},
	"bill_amount": {"账单金额（元）", "Bill amount (yuan)"}, "ledger_amount": {"账本金额（元）", "Ledger amount (yuan)"},
	"resolution": {"处理结果", "Resolution"}, "query": {"查询结果", "Query result"}, "resolved_run": {"处理批次", "Resolved in run"},
	"out_trade_no": {"商户订单号", "Merchant order no."}, "provider_trade_no": {"渠道交易号", "Provider trade no."},
	"out_refund_no": {"商户退款单号", "Merchant refund no."}, "amount": {"金额（元）", "Amount (yuan)"},
	"time": {"时间", "Time"}, "status": {"状态", "Status"}, "kind": {"类型", "Kind"}, "note": {"备注", "Note"},
	"n/a": {"（不适用）", "(n/a)"}, "resolution_code": {"处理结果代码", "Resolution code"}, "kind_code": {"类型代码", "Kind code"},
	"trend": {"回调健康度（近 14 天）", "Callback health, last 14 days"}, "health": {"回调健康度", "Callback health"}, "by_notify": {"通知获知", "Learned from notifications"},
	"by_query": {"查询补单", "Recovered by query"}, "bill_only": {"仅账单", "Only on the bill"},
	"share": {"通知占比", "Notification share"}, "hour": {"小时", "Hour"},
	"orders": {"登记订单（当日巡检）", "Registered orders (same-day sweep)"}, "unpaid": {"未确认支付的登记订单", "Registered orders not confirmed paid"},
}

func (w *Workbook) t(key string) string {
	v, ok := words[key]
	if !ok {
		return key
	}
	if w.meta.Locale == "en" {
		return v[1]
	}
	return v[0]
}

func (w *Workbook) headers(which string) []string {
	var keys []string
	switch which {
	case "detail":
		keys = []string{"out_trade_no", "provider_trade_no", "bill_amount", "ledger_amount", "ledger_status", "time", "tie", "code", "resolution", "note",
			"appid", "discount", "fee"}
	case "refunds":
		keys = []string{"out_trade_no", "out_refund_no", "provider_trade_no", "bill_amount", "ledger_amount", "ledger_status", "time", "tie", "code", "resolution", "note",
			"appid", "discount", "fee"}
	case "discrepancies":
		keys = []string{"code", "label", "kind", "out_trade_no", "provider_trade_no", "out_refund_no", "bill_amount", "ledger_amount", "diff", "query", "resolution", "resolved_run", "note",
			"resolution_code", "kind_code"}
	}
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = w.t(k)
	}
	return out
}

func yuan(f payrecon.Fen) float64 { return float64(f) / 100 }

// percent is a share in hundredths of a percent as a percentage cell.
func (w *Workbook) percent(e4 int) excelize.Cell {
	return excelize.Cell{StyleID: w.styles.percent, Value: float64(e4) / 10000}
}

// money is an amount cell: fen as yuan, in the two-decimal money style.
func (w *Workbook) money(f payrecon.Fen) excelize.Cell {
	return excelize.Cell{StyleID: w.styles.money, Value: yuan(f)}
}

// open starts (or continues with) the current part of a detail sheet.
func (s *sheet) open() error {
	if s.sw != nil && s.rows < s.wb.meta.RowsPerSheet {
		return nil
	}
	if s.sw != nil {
		if err := s.close(); err != nil {
			return err
		}
	}
	s.part++
	s.name = s.base
	if s.part > 1 {
		s.name = fmt.Sprintf("%s (%d)", s.base, s.part)
		if _, err := s.wb.f.NewSheet(s.name); err != nil {
			return err
		}
	}
	if err := s.wb.printSetup(s.name, 1); err != nil {
		return err
	}
	sw, err := s.wb.f.NewStreamWriter(s.name)
	if err != nil {
		return err
	}
	if err := startSheet(sw, s.header, s.widths, s.wb.styles.header); err != nil {
		return err
	}
	s.sw, s.rows = sw, 0
	return nil
}

func startSheet(sw *excelize.StreamWriter, header []string, widths []float64, headerStyle int) error {
	for i, wd := range widths {
		if err := sw.SetColWidth(i+1, i+1, wd); err != nil {
			return err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	row := make([]any, len(header))
	for i, h := range header {
		row[i] = excelize.Cell{StyleID: headerStyle, Value: h}
	}
	return sw.SetRow("A1", row)
}

// add writes the next row; the sheet's row slice carries the values.
func (s *sheet) add(values ...any) error {
	if err := s.open(); err != nil {
		return err
	}
	s.rows++
	s.row = append(s.row[:0], values...)
	cell, _ := excelize.CoordinatesToCellName(1, s.rows+1)
	err := s.sw.SetRow(cell, s.row)
	clear(s.row)
	return err
}

// cell is the row's next styled cell, one of the sheet's own, reused from
// row to row (excelize takes a *Cell as it takes a Cell).
func (s *sheet) cell(style int, v any) *excelize.Cell {
	c := &s.cells[s.styled]
	s.styled++
	*c = excelize.Cell{StyleID: style, Value: v}
	return c
}

// close adds the table (autofilter) over the written rows and flushes.
func (s *sheet) close() error {
	if s.sw == nil {
		if err := s.open(); err != nil { // an empty sheet still gets its header
			return err
		}
	}
	last, _ := excelize.CoordinatesToCellName(len(s.header), s.rows+1)
	s.wb.dims[s.name] = "A1:" + last
	if err := s.sw.AddTable(&excelize.Table{Range: "A1:" + last, Name: s.wb.tableName(), StyleName: "TableStyleLight9", ShowRowStripes: boolPtr(true)}); err != nil {
		return err
	}
	err := s.sw.Flush()
	s.sw = nil
	return err
}

func boolPtr(b bool) *bool { return &b }

// Add takes one diff item: matched payments are streamed to 明细, matched
// refunds to 退款; everything is counted for 汇总. The discrepancies are
// given to Finish with their resolutions, and listed on 明细 and 退款 then.
func (w *Workbook) Add(it payrecon.Discrepancy) error {
	w.count(it)
	if it.Code != payrecon.Matched {
		return nil
	}
	return w.addDetail(it)
}

// addDetail lists one payment on 明细 or one refund on 退款: its bill
// amount, what the ledger holds of it on the day after the run, and how it
// ties out (see [Tie]), in words, beside its code. The row and its styled
// cells are the sheet's, reused from row to row.
func (w *Workbook) addDetail(it payrecon.Discrepancy) error {
	s := w.detail
	if it.Kind == payrecon.EntryRefund {
		s = w.refund
	}
	s.styled = 0
	money := func(has bool, f payrecon.Fen) any {
		if !has {
			return ""
		}
		return s.cell(w.styles.money, yuan(f))
	}
	at := it.BillAt
	if !it.HasBill {
		at = it.LedgerAt
	}
	var atCell any = ""
	if !at.IsZero() {
		atCell = s.cell(w.styles.dateTime, wallClock(at.In(w.meta.Loc)))
	}
	after := it.LedgerSideAfter(w.meta.Date)
	note := w.note(it.Kind, it.Note)
	if note == "" {
		note = w.value("bill", it.BillStatus)
	}
	status, tie, res := w.status(it.Kind, it.LedgerStatus), w.value("tie", Tie(it)), w.value("outcome", string(it.Resolution))
	// The bill row's app, the discount the merchant bears and the fee
	// (negative: returned on a refund), blank without a bill row.
	bill := it.BillSide()
	if it.Kind == payrecon.EntryRefund {
		return s.add(it.OutTradeNo, it.OutRefundNo, it.ProviderTradeNo, money(it.HasBill, it.BillFen), money(after.Refunds > 0, after.RefundsFen),
			status, atCell, tie, string(it.Code), res, note, it.AppID, money(it.HasBill, it.BillDiscountFen), money(it.HasBill, bill.FeesFen))
	}
	return s.add(it.OutTradeNo, it.ProviderTradeNo, money(it.HasBill, it.BillFen), money(after.Payments > 0, after.PaymentsFen),
		status, atCell, tie, string(it.Code), res, note, it.AppID, money(it.HasBill, it.BillDiscountFen), money(it.HasBill, bill.FeesFen))
}

// time is a date-time cell of t's wall clock in the display zone (an
// Excel date has no zone), or an empty cell for the zero time.
func (w *Workbook) time(t time.Time) any {
	if t.IsZero() {
		return ""
	}
	return excelize.Cell{StyleID: w.styles.dateTime, Value: wallClock(t.In(w.meta.Loc))}
}

// wallClock is t's date and time of day, to the second, in UTC, which excelize
// writes as they are.
func wallClock(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
}

// Tie says how a payment or refund of the day ties out, for the 核对
// column of 明细 and 退款: "matched" (bill and ledger agree), "recovered"
// (the run repaired the ledger to the bill), "carried" (CROSS_DAY: the
// other side has it on an adjacent day), "ledger-only" (in the ledger, not
// on the bill), "bill-only" (on the bill, not in the ledger, not
// recovered), "mismatched" (on both, and they disagree) or "backfilled"
// (BEFORE_START: from before go-live, the run backfilled it from the bill).
func Tie(it payrecon.Discrepancy) string {
	switch {
	case it.Code == payrecon.Matched:
		return "matched"
	case it.Code == payrecon.BeforeStart && it.Resolution == payrecon.OutcomeRecovered:
		return "backfilled"
	case it.Resolution == payrecon.OutcomeRecovered:
		return "recovered"
	case it.Code == payrecon.CrossDay:
		return "carried"
	case !it.HasBill:
		return "ledger-only"
	case !it.HasLedger:
		return "bill-only"
	}
	return "mismatched"
}

func (w *Workbook) count(it payrecon.Discrepancy) {
	s := &w.sum
	s.Counts[it.Code]++
	if it.HasBill {
		s.BillFen[it.Code] += it.BillFen
	}
	if it.HasLedger {
		s.LedgerFen[it.Code] += it.LedgerFen
	}
}

// Reclassify moves an item counted by Add under another code, as the
// resolver reclassified it (CURRENCY_MISMATCH when the provider's answer
// is in another currency).
func (w *Workbook) Reclassify(was, now payrecon.Discrepancy) {
	s := &w.sum
	s.Counts[was.Code]--
	if was.HasBill {
		s.BillFen[was.Code] -= was.BillFen
	}
	if was.HasLedger {
		s.LedgerFen[was.Code] -= was.LedgerFen
	}
	w.count(now)
}

// Close removes the workbook's temp files; a workbook never finished (its
// run failed) must be closed. Finish closes it; a second Close does
// nothing.
func (w *Workbook) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	return w.f.Close()
}

// Finish writes the discrepancies and the summary, and the workbook to
// out, then closes the workbook.
func (w *Workbook) Finish(bill payrecon.BillTotals, ds []payrecon.Discrepancy, out io.Writer) (err error) {
	defer func() { err = errors.Join(err, w.Close()) }()
	w.sum.Bill = bill
	w.sum.Attention = attention(ds)
	for _, d := range ds {
		if err := w.addDetail(d); err != nil {
			return fmt.Errorf("workbook: %w", err)
		}
	}
	for _, s := range []*sheet{w.detail, w.refund} {
		if err := s.close(); err != nil {
			return fmt.Errorf("workbook: %w", err)
		}
	}
	if err := w.writeDiscrepancies(ds); err != nil {
		return fmt.Errorf("workbook: %w", err)
	}
	if err := w.writeSummary(); err != nil {
		return fmt.Errorf("workbook: %w", err)
	}
	if err := w.writeTo(out, w.dims); err != nil {
		return fmt.Errorf("workbook: %w", err)
	}
	return nil
}

func (w *Workbook) writeDiscrepancies(ds []payrecon.Discrepancy) error {
	sort.SliceStable(ds, func(i, j int) bool { return codeIndex(ds[i].Code) < codeIndex(ds[j].Code) })
	s := &sheet{wb: w, base: w.t("discrepancies"), header: w.headers("discrepancies"), widths: []float64{18, 30, 10, 24, 32, 24, 16, 16, 14, 40, 14, 12, 36, 18, 10}}
	money := func(has bool, f payrecon.Fen) any {
		if !has {
			return ""
		}
		return w.money(f)
	}
	for _, d := range ds {
		w.sum.Resolutions[d.Resolution]++
		diff := any("")
		if d.HasBill && d.HasLedger {
			diff = w.money(d.DiffFen())
		}
		resolvedIn := any("")
		if d.ResolvedRun != 0 {
			resolvedIn = d.ResolvedRun
		}
		if err := s.add(string(d.Code), d.Code.Label(w.meta.Locale), w.value("kind", string(d.Kind)), d.OutTradeNo, d.ProviderTradeNo, d.OutRefundNo,
			money(d.HasBill, d.BillFen), money(d.HasLedger, d.LedgerFen), diff, d.QueryResult, w.value("outcome", string(d.Resolution)), resolvedIn,
			w.note(d.Kind, d.Note), string(d.Resolution), string(d.Kind)); err != nil {
			return err
		}
	}
	return s.close()
}

func codeIndex(c payrecon.Code) int {
	for i, x := range payrecon.Codes {
		if x == c {
			return i
		}
	}
	return len(payrecon.Codes)
}

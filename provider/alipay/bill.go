package alipay

import (
	"archive/zip"
	"bufio"
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/payrecon/payrecon"
)

// ErrBillFormat is returned for a file that is not an Alipay trade bill.
var ErrBillFormat = errors.New("not an Alipay trade bill")

// DetailSuffix names the trade detail file inside the bill ZIP.
const DetailSuffix = "_业务明细.csv"

// Column names of the trade detail file (full-width parentheses).
const (
	colTradeNo   = "支付宝交易号"
	colOutTrade  = "商户订单号"
	colBizType   = "业务类型"
	colCreated   = "创建时间"
	colFinished  = "完成时间"
	colAmount    = "订单金额（元）"
	colReceipt   = "商家实收（元）"
	colRefundReq = "退款批次号/请求号"
	colFee       = "服务费（元）"
	// Discount columns, read when present: the merchant bears 商家优惠
	// (商家实收 = 订单金额 less it); Alipay funds the other three.
	colRedPacket = "支付宝红包（元）"
	colPoints    = "集分宝（元）"
	colAliOffer  = "支付宝优惠（元）"
)

// ParseBillZip finds the trade detail file (…_业务明细.csv, GBK entry name)
// in an Alipay bill ZIP and parses it with [ParseBillCSV].
func ParseBillZip(r io.ReaderAt, size int64, fn func(payrecon.BillEntry) error) (payrecon.BillTotals, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return payrecon.BillTotals{}, fmt.Errorf("alipay bill: %w: %v", ErrBillFormat, err)
	}
	for _, f := range zr.File {
		name := f.Name
		if f.NonUTF8 || !utf8.ValidString(name) {
			if dec, err := simplifiedchinese.GB18030.NewDecoder().String(name); err == nil {
				name = dec
			}
		}
		if !strings.HasSuffix(name, DetailSuffix) {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return payrecon.BillTotals{}, fmt.Errorf("alipay bill: open %s: %w", name, err)
		}
		defer rc.Close()
		return ParseBillCSV(rc, fn)
	}
	return payrecon.BillTotals{}, fmt.Errorf("alipay bill: %w: no *%s in the ZIP", ErrBillFormat, DetailSuffix)
}

var (
	footPay    = regexp.MustCompile(`^#交易合计：(\d+)笔，商家实收共(-?\d+(?:\.\d+)?)元`)
	footRefund = regexp.MustCompile(`^#退款合计：(\d+)笔，商家实收退款共(-?\d+(?:\.\d+)?)元`)
)

// ParseBillCSV streams the trade detail CSV (GBK as Alipay sends it, or
// UTF-8 if a tool re-saved it), calling fn for each row, and checks the
// #交易合计 / #退款合计 footer against the rows. Columns are found by header
// name; trailing tabs and spaces are trimmed from every field.
func ParseBillCSV(r io.Reader, fn func(payrecon.BillEntry) error) (payrecon.BillTotals, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(256)
	var src io.Reader = br
	if !utf8.Valid(trimIncompleteRune(head)) {
		src = simplifiedchinese.GB18030.NewDecoder().Reader(br)
	}
	sc := bufio.NewScanner(src)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var p csvBill
	for sc.Scan() {
		p.line++
		text := strings.TrimRight(sc.Text(), "\r")
		if p.line == 1 {
			text = strings.TrimPrefix(text, "\uFEFF")
		}
		e, ok, err := p.parseLine(text)
		if err != nil {
			return p.tot, err
		}
		if !ok {
			continue
		}
		if err := fn(e); err != nil {
			return p.tot, err
		}
	}
	if err := sc.Err(); err != nil {
		return p.tot, fmt.Errorf("alipay bill: read: %w", err)
	}
	return p.tot, p.check()
}

// csvBill is the state of one pass over a detail CSV: the header's
// columns, the running totals and the footer lines.
type csvBill struct {
	tot          payrecon.BillTotals
	col          map[string]int
	need         []int
	line         int
	receiptPay   payrecon.Fen
	receiptRef   payrecon.Fen
	footP, footR []string
	inDetail     bool
	sawTitle     bool
}

// parseLine reads one line; ok says it was a bill row, returned as e.
func (p *csvBill) parseLine(text string) (e payrecon.BillEntry, ok bool, err error) {
	if strings.HasPrefix(text, "#") {
		p.comment(text)
		return e, false, nil
	}
	if strings.TrimSpace(text) == "" {
		return e, false, nil
	}
	fields, err := splitCSV(text)
	if err != nil {
		return e, false, fmt.Errorf("alipay bill line %d: %w", p.line, err)
	}
	if p.col == nil {
		return e, false, p.header(fields)
	}
	if !p.inDetail {
		return e, false, fmt.Errorf("alipay bill line %d: data after the detail block", p.line)
	}
	e, err = p.row(fields)
	return e, err == nil, err
}

// comment reads a # line: the title, the footers, the end of the detail block.
func (p *csvBill) comment(text string) {
	switch {
	case strings.HasPrefix(text, "#支付宝业务明细查询"):
		p.sawTitle = true
	case footPay.MatchString(text):
		p.footP = footPay.FindStringSubmatch(text)
	case footRefund.MatchString(text):
		p.footR = footRefund.FindStringSubmatch(text)
	}
	if p.col != nil {
		p.inDetail = false
	}
}

// header finds the columns by name.
func (p *csvBill) header(fields []string) error {
	if !p.sawTitle {
		return fmt.Errorf("alipay bill: %w: missing #支付宝业务明细查询 title", ErrBillFormat)
	}
	p.col = map[string]int{}
	for i, h := range fields {
		p.col[strings.TrimSpace(h)] = i
	}
	for _, h := range []string{colTradeNo, colOutTrade, colBizType, colFinished, colAmount, colReceipt, colRefundReq, colFee} {
		i, ok := p.col[h]
		if !ok {
			return fmt.Errorf("alipay bill: %w: no column %s", ErrBillFormat, h)
		}
		p.need = append(p.need, i)
	}
	p.inDetail = true
	return nil
}

// row reads one detail row and adds it to the totals.
func (p *csvBill) row(fields []string) (payrecon.BillEntry, error) {
	line := p.line
	get := func(name string) string {
		i := p.col[name]
		if i >= len(fields) {
			return ""
		}
		return strings.Trim(fields[i], "\t ")
	}
	if len(fields) <= maxInt(p.need) {
		return payrecon.BillEntry{}, fmt.Errorf("alipay bill line %d: %d fields, header has %d", line, len(fields), len(p.col))
	}
	e := payrecon.BillEntry{Line: line, ProviderTradeNo: get(colTradeNo), OutTradeNo: get(colOutTrade), Status: get(colBizType)}
	amt, err := payrecon.ParseYuan(get(colAmount))
	if err != nil {
		return e, fmt.Errorf("alipay bill line %d: %s: %w", line, colAmount, err)
	}
	receipt, err := payrecon.ParseYuan(get(colReceipt))
	if err != nil {
		return e, fmt.Errorf("alipay bill line %d: %s: %w", line, colReceipt, err)
	}
	if e.FeeE5, err = payrecon.ParseFeeE5(get(colFee)); err != nil {
		return e, fmt.Errorf("alipay bill line %d: %s: %w", line, colFee, err)
	}
	if e.At, err = billTime(get(colFinished)); err != nil {
		return e, fmt.Errorf("alipay bill line %d: %s: %w", line, colFinished, err)
	}
	for _, c := range []string{colRedPacket, colPoints, colAliOffer} {
		if _, ok := p.col[c]; !ok {
			continue
		}
		v, err := payrecon.ParseYuan(cmp.Or(get(c), "0"))
		if err != nil {
			return e, fmt.Errorf("alipay bill line %d: %s: %w", line, c, err)
		}
		e.ProviderDiscountFen += max(v, -v)
	}
	// The sign of 服务费 is not documented (the real sample has only 0.00):
	// either sign is read as a fee charged on a payment, returned on a refund.
	e.FeeE5 = max(e.FeeE5, -e.FeeE5)
	switch e.Status {
	case "交易":
		e.Kind, e.AmountFen, e.DiscountFen = payrecon.EntryPayment, amt, amt-receipt
		p.tot.Payments++
		p.tot.PaymentFen += amt
		p.receiptPay += receipt
	case "退款":
		e.Kind, e.AmountFen, e.DiscountFen = payrecon.EntryRefund, -amt, receipt-amt
		e.FeeE5 = -e.FeeE5
		e.OutRefundNo = cmp.Or(get(colRefundReq), e.OutTradeNo)
		p.tot.Refunds++
		p.tot.RefundFen += -amt
		p.receiptRef += receipt
	default:
		return e, fmt.Errorf("alipay bill line %d: unknown %s %q", line, colBizType, e.Status)
	}
	if e.ProviderTradeNo == "" && e.OutTradeNo == "" {
		return e, fmt.Errorf("alipay bill line %d: no trade number", line)
	}
	p.tot.FeeE5 += e.FeeE5
	return e, nil
}

// check verifies the file was whole: a header, both footers, and footers
// that agree with the rows.
func (p *csvBill) check() error {
	if p.col == nil {
		return fmt.Errorf("alipay bill: %w: no header row", ErrBillFormat)
	}
	if p.footP == nil || p.footR == nil {
		return fmt.Errorf("alipay bill: %w: #交易合计/#退款合计 footer missing (truncated file?)", ErrBillFormat)
	}
	if err := checkFoot("#交易合计", p.footP, p.tot.Payments, p.receiptPay); err != nil {
		return err
	}
	return checkFoot("#退款合计", p.footR, p.tot.Refunds, p.receiptRef)
}

func checkFoot(name string, m []string, count int, sum payrecon.Fen) error {
	n, _ := strconv.Atoi(m[1])
	if n != count {
		return &payrecon.TotalsMismatchError{Field: name + " 笔数", Stated: m[1], Counted: strconv.Itoa(count)}
	}
	stated, err := payrecon.ParseYuan(m[2])
	if err != nil {
		return fmt.Errorf("alipay bill: %s: %w", name, err)
	}
	if stated != sum {
		return &payrecon.TotalsMismatchError{Field: name + " 商家实收", Stated: stated.Yuan(), Counted: sum.Yuan()}
	}
	return nil
}

// splitCSV splits one line; Alipay does not quote, but a re-saved file may.
func splitCSV(line string) ([]string, error) {
	if !strings.Contains(line, `"`) {
		return strings.Split(line, ","), nil
	}
	r := csv.NewReader(strings.NewReader(line))
	r.LazyQuotes = true
	r.FieldsPerRecord = -1
	return r.Read()
}

func billTime(s string) (time.Time, error) { return payrecon.ParseBeijingTime(s) }

func maxInt(xs []int) int {
	m := 0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

// trimIncompleteRune drops a multi-byte sequence cut off at the end of a
// peeked buffer, so a UTF-8 check is not fooled by the cut.
func trimIncompleteRune(b []byte) []byte {
	for i := 0; i < utf8.UTFMax && len(b) > 0; i++ {
		if r, _ := utf8.DecodeLastRune(b); r != utf8.RuneError {
			return b
		}
		b = b[:len(b)-1]
	}
	return b
}

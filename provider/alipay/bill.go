package alipay

import (
	"archive/zip"
	"bufio"
	"bytes"
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
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
	rc, err := BillZipDetail(r, size)
	if err != nil {
		return payrecon.BillTotals{}, err
	}
	defer rc.Close()
	return ParseBillCSV(rc, fn)
}

// BillZipDetail opens the trade detail CSV (…业务明细.csv) of a bill ZIP,
// as Alipay sends it (GBK).
func BillZipDetail(r io.ReaderAt, size int64) (io.ReadCloser, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("alipay bill: %w: %v", ErrBillFormat, err)
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
			return nil, fmt.Errorf("alipay bill: open %s: %w", name, err)
		}
		return rc, nil
	}
	return nil, fmt.Errorf("alipay bill: %w: no *%s in the ZIP", ErrBillFormat, DetailSuffix)
}

var (
	footPay    = regexp.MustCompile(`^#交易合计：(\d+)笔，商家实收共(-?\d+(?:\.\d+)?)元`)
	footRefund = regexp.MustCompile(`^#退款合计：(\d+)笔，商家实收退款共(-?\d+(?:\.\d+)?)元`)
)

// ParseBillCSV streams the trade detail CSV (GBK as Alipay sends it, or
// UTF-8 if a tool re-saved it), calling fn for each row, and checks the
// #交易合计 / #退款合计 footer against the rows. Columns are found by header
// name; trailing tabs and spaces are trimmed from every field.
//
// Detail rows are split and parsed in the read buffer: a GBK field is
// decoded only when it is needed and holds non-ASCII bytes (GBK's
// multi-byte characters never contain a byte below 0x30, so a comma, quote,
// tab or line end in the raw bytes is one in the decoded text), and 业务类型
// is compared in the file's own encoding. Every other line is decoded
// whole, exactly as a GB18030 transform of the stream would decode it.
func ParseBillCSV(r io.Reader, fn func(payrecon.BillEntry) error) (payrecon.BillTotals, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(256)
	p := csvBill{enc: utf8Text}
	if !utf8.Valid(trimIncompleteRune(head)) {
		p.enc = newGBKText()
	}
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		p.line++
		e, ok, err := p.parseRaw(sc.Bytes())
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

// textEnc is a bill file's text encoding.
type textEnc struct {
	dec           *encoding.Decoder // nil: UTF-8, taken as it is
	trade, refund []byte            // 交易 and 退款 in this encoding
}

var utf8Text = textEnc{trade: []byte("交易"), refund: []byte("退款")}

func newGBKText() textEnc {
	enc := simplifiedchinese.GB18030.NewEncoder()
	t, _ := enc.Bytes([]byte("交易"))
	r, _ := enc.Bytes([]byte("退款"))
	return textEnc{dec: simplifiedchinese.GB18030.NewDecoder(), trade: t, refund: r}
}

// str is b as UTF-8 text.
func (t textEnc) str(b []byte) string {
	if t.dec == nil || isASCII(b) {
		return string(b)
	}
	u, err := t.dec.Bytes(b)
	if err != nil { // GB18030 replaces what it cannot decode; never here
		return string(b)
	}
	return string(u)
}

// utf8 is b as UTF-8 bytes: b itself unless it needs decoding.
func (t textEnc) utf8(b []byte) []byte {
	if t.dec == nil || isASCII(b) {
		return b
	}
	return []byte(t.str(b))
}

// bizType is 业务类型 as text, without a conversion for the two known values.
func (t textEnc) bizType(b []byte) string {
	switch {
	case bytes.Equal(b, t.trade):
		return "交易"
	case bytes.Equal(b, t.refund):
		return "退款"
	}
	return t.str(b)
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// csvBill is the state of one pass over a detail CSV: the header's
// columns, the running totals and the footer lines.
type csvBill struct {
	enc          textEnc
	tot          payrecon.BillTotals
	col          map[string]int
	ix           columns
	line         int
	receiptPay   payrecon.Fen
	receiptRef   payrecon.Fen
	footP, footR []string
	inDetail     bool
	sawTitle     bool
	account      string   // the #账号 line's account
	fields       [][]byte // the current row's fields, reused
}

// columns are the header's column positions (-1: absent).
type columns struct {
	tradeNo, outTrade, bizType, finished, amount, receipt, refundReq, fee int
	discounts                                                             []int
	maxNeed                                                               int
}

// parseRaw reads one line as read from the file; ok says it was a bill
// row, returned as e. A plain detail row is parsed in place; any other
// line is decoded whole and read by parseLine.
func (p *csvBill) parseRaw(raw []byte) (e payrecon.BillEntry, ok bool, err error) {
	if p.col != nil && p.inDetail && len(raw) > 0 && raw[0] != '#' && bytes.IndexByte(raw, ',') >= 0 && bytes.IndexByte(raw, '"') < 0 {
		p.fields = splitBytes(p.fields[:0], bytes.TrimRight(raw, "\r"))
		e, err = p.row(p.fields, p.enc)
		return e, err == nil, err
	}
	text := strings.TrimRight(p.enc.str(raw), "\r")
	if p.line == 1 {
		text = strings.TrimPrefix(text, "\uFEFF")
	}
	return p.parseLine(text)
}

// splitBytes splits line on commas into fields, reusing its slice.
func splitBytes(fields [][]byte, line []byte) [][]byte {
	for {
		i := bytes.IndexByte(line, ',')
		if i < 0 {
			return append(fields, line)
		}
		fields = append(fields, line[:i])
		line = line[i+1:]
	}
}

// parseLine reads one decoded line; ok says it was a bill row, returned as e.
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
	p.fields = p.fields[:0]
	for _, f := range fields {
		p.fields = append(p.fields, []byte(f))
	}
	e, err = p.row(p.fields, utf8Text)
	return e, err == nil, err
}

// comment reads a # line: the title, the footers, the end of the detail block.
func (p *csvBill) comment(text string) {
	switch {
	case strings.HasPrefix(text, "#支付宝业务明细查询"):
		p.sawTitle = true
	case strings.HasPrefix(text, "#账号：["):
		p.account = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(text), "#账号：["), "]")
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
	need := []*int{&p.ix.tradeNo, &p.ix.outTrade, &p.ix.bizType, &p.ix.finished, &p.ix.amount, &p.ix.receipt, &p.ix.refundReq, &p.ix.fee}
	for k, h := range []string{colTradeNo, colOutTrade, colBizType, colFinished, colAmount, colReceipt, colRefundReq, colFee} {
		i, ok := p.col[h]
		if !ok {
			return fmt.Errorf("alipay bill: %w: no column %s", ErrBillFormat, h)
		}
		*need[k] = i
		p.ix.maxNeed = max(p.ix.maxNeed, i)
	}
	for _, c := range []string{colRedPacket, colPoints, colAliOffer} {
		if i, ok := p.col[c]; ok {
			p.ix.discounts = append(p.ix.discounts, i)
		}
	}
	p.inDetail = true
	return nil
}

// discountCols names the discount columns in the order header finds them.
func (p *csvBill) discountCol(k int) string {
	n := 0
	for _, c := range []string{colRedPacket, colPoints, colAliOffer} {
		if _, ok := p.col[c]; ok {
			if n == k {
				return c
			}
			n++
		}
	}
	return ""
}

// field is row field i without its surrounding tabs and spaces (nil when
// the row is short of it).
func field(fields [][]byte, i int) []byte {
	if i >= len(fields) {
		return nil
	}
	return bytes.Trim(fields[i], "\t ")
}

// row reads one detail row (fields in encoding enc) and adds it to the
// totals.
func (p *csvBill) row(fields [][]byte, enc textEnc) (payrecon.BillEntry, error) {
	line := p.line
	if len(fields) <= p.ix.maxNeed {
		return payrecon.BillEntry{}, fmt.Errorf("alipay bill line %d: %d fields, header has %d", line, len(fields), len(p.col))
	}
	get := func(i int) []byte { return enc.utf8(field(fields, i)) }
	e := payrecon.BillEntry{Line: line, ProviderTradeNo: enc.str(field(fields, p.ix.tradeNo)), OutTradeNo: enc.str(field(fields, p.ix.outTrade)),
		Status: enc.bizType(field(fields, p.ix.bizType)), Merchant: p.account}
	amt, err := payrecon.ParseYuanBytes(get(p.ix.amount))
	if err != nil {
		return e, fmt.Errorf("alipay bill line %d: %s: %w", line, colAmount, err)
	}
	receipt, err := payrecon.ParseYuanBytes(get(p.ix.receipt))
	if err != nil {
		return e, fmt.Errorf("alipay bill line %d: %s: %w", line, colReceipt, err)
	}
	if e.FeeE5, err = payrecon.ParseFeeE5Bytes(get(p.ix.fee)); err != nil {
		return e, fmt.Errorf("alipay bill line %d: %s: %w", line, colFee, err)
	}
	if e.At, err = payrecon.ParseBeijingTimeBytes(get(p.ix.finished)); err != nil {
		return e, fmt.Errorf("alipay bill line %d: %s: %w", line, colFinished, err)
	}
	for k, i := range p.ix.discounts {
		b := get(i)
		if len(b) == 0 {
			continue // cmp.Or(…, "0"): an empty discount is none
		}
		v, err := payrecon.ParseYuanBytes(b)
		if err != nil {
			return e, fmt.Errorf("alipay bill line %d: %s: %w", line, p.discountCol(k), err)
		}
		e.ProviderDiscountFen += max(v, -v)
	}
	return p.classify(e, amt, receipt, func() string { return enc.str(field(fields, p.ix.refundReq)) })
}

// classify completes a row by its 业务类型 and adds it to the totals;
// refundReq reads its 退款批次号/请求号.
func (p *csvBill) classify(e payrecon.BillEntry, amt, receipt payrecon.Fen, refundReq func() string) (payrecon.BillEntry, error) {
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
		e.OutRefundNo = cmp.Or(refundReq(), e.OutTradeNo)
		p.tot.Refunds++
		p.tot.RefundFen += -amt
		p.receiptRef += receipt
	default:
		return e, fmt.Errorf("alipay bill line %d: unknown %s %q", e.Line, colBizType, e.Status)
	}
	if e.ProviderTradeNo == "" && e.OutTradeNo == "" {
		return e, fmt.Errorf("alipay bill line %d: no trade number", e.Line)
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

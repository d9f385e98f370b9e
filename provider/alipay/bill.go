package alipay

import (
	"archive/zip"
	"bufio"
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

	var (
		tot          payrecon.BillTotals
		col          map[string]int
		need         []int
		line         int
		receiptPay   payrecon.Fen
		receiptRef   payrecon.Fen
		footP, footR []string
		inDetail     bool
		sawTitle     bool
	)
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if line == 1 {
			text = strings.TrimPrefix(text, "\uFEFF")
		}
		if strings.HasPrefix(text, "#") {
			switch {
			case strings.HasPrefix(text, "#支付宝业务明细查询"):
				sawTitle = true
			case footPay.MatchString(text):
				footP = footPay.FindStringSubmatch(text)
			case footRefund.MatchString(text):
				footR = footRefund.FindStringSubmatch(text)
			}
			if col != nil {
				inDetail = false
			}
			continue
		}
		if strings.TrimSpace(text) == "" {
			continue
		}
		fields, err := splitCSV(text)
		if err != nil {
			return tot, fmt.Errorf("alipay bill line %d: %w", line, err)
		}
		if col == nil {
			if !sawTitle {
				return tot, fmt.Errorf("alipay bill: %w: missing #支付宝业务明细查询 title", ErrBillFormat)
			}
			col = map[string]int{}
			for i, h := range fields {
				col[strings.TrimSpace(h)] = i
			}
			for _, h := range []string{colTradeNo, colOutTrade, colBizType, colFinished, colAmount, colReceipt, colRefundReq, colFee} {
				i, ok := col[h]
				if !ok {
					return tot, fmt.Errorf("alipay bill: %w: no column %s", ErrBillFormat, h)
				}
				need = append(need, i)
			}
			inDetail = true
			continue
		}
		if !inDetail {
			return tot, fmt.Errorf("alipay bill line %d: data after the detail block", line)
		}
		get := func(name string) string {
			i := col[name]
			if i >= len(fields) {
				return ""
			}
			return strings.Trim(fields[i], "\t ")
		}
		if len(fields) <= maxInt(need) {
			return tot, fmt.Errorf("alipay bill line %d: %d fields, header has %d", line, len(fields), len(col))
		}
		e := payrecon.BillEntry{Line: line, ProviderTradeNo: get(colTradeNo), OutTradeNo: get(colOutTrade), Status: get(colBizType)}
		amt, err := payrecon.ParseYuan(get(colAmount))
		if err != nil {
			return tot, fmt.Errorf("alipay bill line %d: %s: %w", line, colAmount, err)
		}
		receipt, err := payrecon.ParseYuan(get(colReceipt))
		if err != nil {
			return tot, fmt.Errorf("alipay bill line %d: %s: %w", line, colReceipt, err)
		}
		fee, err := payrecon.ParseYuanFixed(orZero(get(colFee)), 5)
		if err != nil {
			return tot, fmt.Errorf("alipay bill line %d: %s: %w", line, colFee, err)
		}
		e.FeeE5 = fee
		if e.At, err = billTime(get(colFinished)); err != nil {
			return tot, fmt.Errorf("alipay bill line %d: %s: %w", line, colFinished, err)
		}
		switch e.Status {
		case "交易":
			e.Kind, e.AmountFen = payrecon.EntryPayment, amt
			tot.Payments++
			tot.PaymentFen += amt
			receiptPay += receipt
		case "退款":
			e.Kind, e.AmountFen = payrecon.EntryRefund, -amt
			e.OutRefundNo = firstNonEmpty(get(colRefundReq), e.OutTradeNo)
			tot.Refunds++
			tot.RefundFen += -amt
			receiptRef += receipt
		default:
			return tot, fmt.Errorf("alipay bill line %d: unknown %s %q", line, colBizType, e.Status)
		}
		if e.ProviderTradeNo == "" && e.OutTradeNo == "" {
			return tot, fmt.Errorf("alipay bill line %d: no trade number", line)
		}
		tot.FeeE5 += e.FeeE5
		if err := fn(e); err != nil {
			return tot, err
		}
	}
	if err := sc.Err(); err != nil {
		return tot, fmt.Errorf("alipay bill: read: %w", err)
	}
	if col == nil {
		return tot, fmt.Errorf("alipay bill: %w: no header row", ErrBillFormat)
	}
	if footP == nil || footR == nil {
		return tot, fmt.Errorf("alipay bill: %w: #交易合计/#退款合计 footer missing (truncated file?)", ErrBillFormat)
	}
	if err := checkFoot("#交易合计", footP, tot.Payments, receiptPay); err != nil {
		return tot, err
	}
	if err := checkFoot("#退款合计", footR, tot.Refunds, receiptRef); err != nil {
		return tot, err
	}
	return tot, nil
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

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

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

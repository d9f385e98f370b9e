package wechatpay

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/payrecon/payrecon"
)

// ErrBillFormat is returned for a file that is not a WeChat Pay trade bill.
var ErrBillFormat = errors.New("not a WeChat Pay trade bill")

// ParseBill streams a WeChat Pay trade bill (ALL, SUCCESS, REFUND or the
// legacy column set; UTF-8 with or without BOM; CRLF or LF), calling fn for
// each detail row, and checks the summary row against the rows. Columns and
// summary fields are found by header name. Values are split on ",`" after
// the leading backtick, so commas inside free text survive. Detail rows
// are split and parsed in the read buffer; only the values a row keeps
// become strings, and repeated ones (status, app, merchant, currency) are
// shared.
func ParseBill(r io.Reader, fn func(payrecon.BillEntry) error) (payrecon.BillTotals, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	p := billParser{fn: fn}
	for sc.Scan() {
		p.line++
		raw := sc.Bytes()
		var err error
		if p.header != nil && p.sumHead == nil && len(raw) > 0 && raw[0] == '`' {
			err = p.row(bytes.TrimRight(raw, "\r"))
		} else {
			err = p.text(string(raw))
		}
		if err != nil {
			return p.tot, err
		}
	}
	if err := sc.Err(); err != nil {
		return p.tot, fmt.Errorf("wechatpay bill: read: %w", err)
	}
	if p.header == nil {
		return p.tot, fmt.Errorf("wechatpay bill: %w: empty file", ErrBillFormat)
	}
	if p.sumVals == nil {
		return p.tot, fmt.Errorf("wechatpay bill: %w: summary row missing (truncated file?)", ErrBillFormat)
	}
	sums := map[string]int64{}
	for i, c := range moneyCols {
		if p.lay.money[i] >= 0 {
			sums[c] = p.lay.sums[i]
		}
	}
	return p.tot, checkSummary(p.sumHead, p.sumVals, p.tot, sums)
}

// billParser is the state of one pass over a bill.
type billParser struct {
	fn      func(payrecon.BillEntry) error
	tot     payrecon.BillTotals
	header  []string
	lay     layout
	sumHead []string
	sumVals []string
	line    int
	vals    [][]byte // the current row's values, reused
}

// text reads a line that is not a detail row in place: the header, the
// summary, a blank line, or a malformed row.
func (p *billParser) text(text string) error {
	text = strings.TrimRight(text, "\r")
	if p.line == 1 {
		text = strings.TrimPrefix(text, "\uFEFF")
	}
	if strings.TrimSpace(text) == "" {
		return nil
	}
	switch {
	case p.header == nil:
		if strings.HasPrefix(text, "`") {
			return fmt.Errorf("wechatpay bill: %w: no header row", ErrBillFormat)
		}
		p.header = strings.Split(text, ",")
		col := map[string]int{}
		for i, h := range p.header {
			col[strings.TrimSpace(h)] = i
		}
		for _, need := range []string{"交易时间", "微信订单号", "商户订单号", "交易状态"} {
			if _, ok := col[need]; !ok {
				return fmt.Errorf("wechatpay bill: %w: no column %s", ErrBillFormat, need)
			}
		}
		if _, ok := col[firstCol(col, "应结订单金额", "总金额")]; !ok {
			return fmt.Errorf("wechatpay bill: %w: no column 应结订单金额/总金额", ErrBillFormat)
		}
		p.lay = newLayout(col)
	case p.sumHead == nil && strings.HasPrefix(text, "总交易单数"):
		p.sumHead = strings.Split(text, ",")
	case p.sumHead != nil:
		if p.sumVals != nil {
			return fmt.Errorf("wechatpay bill line %d: content after the summary row", p.line)
		}
		p.sumVals = splitValues(text)
		if len(p.sumVals) != len(p.sumHead) {
			return fmt.Errorf("wechatpay bill line %d: summary has %d values for %d names", p.line, len(p.sumVals), len(p.sumHead))
		}
	default:
		return fmt.Errorf("wechatpay bill line %d: %w: row without leading backtick", p.line, ErrBillFormat)
	}
	return nil
}

// row reads a detail row (a line starting with a backtick after the
// header, before the summary), adds it to the totals and hands it on.
func (p *billParser) row(raw []byte) error {
	p.vals = splitValueBytes(p.vals[:0], raw)
	if len(p.vals) != len(p.header) {
		return fmt.Errorf("wechatpay bill line %d: %d values for %d columns (an unescaped \",`\" in free text?)", p.line, len(p.vals), len(p.header))
	}
	e, err := p.lay.entry(p.vals, p.line)
	if err != nil {
		return err
	}
	if e.Kind == payrecon.EntryRefund {
		p.tot.Refunds++
		p.tot.RefundFen += e.AmountFen
	} else {
		p.tot.Payments++
		p.tot.PaymentFen += e.AmountFen
	}
	p.tot.FeeE5 += e.FeeE5
	return p.fn(e)
}

// splitValues strips the leading backtick and splits on ",`".
func splitValues(text string) []string {
	return strings.Split(strings.TrimPrefix(text, "`"), ",`")
}

// splitValueBytes is splitValues in place, into a reused slice.
func splitValueBytes(vals [][]byte, line []byte) [][]byte {
	line = bytes.TrimPrefix(line, []byte("`"))
	for {
		i := bytes.Index(line, []byte(",`"))
		if i < 0 {
			return append(vals, line)
		}
		vals = append(vals, line[:i])
		line = line[i+2:]
	}
}

func firstCol(col map[string]int, names ...string) string {
	for _, n := range names {
		if _, ok := col[n]; ok {
			return n
		}
	}
	return names[0]
}

// moneyCols are summed for the summary check, in 1e-5 yuan.
var moneyCols = []string{"应结订单金额", "总金额", "退款金额", "充值券退款金额", "手续费", "订单金额", "申请退款金额", "代金券金额", "企业红包金额", "代金券或立减优惠金额"}

// layout holds the column positions of one bill's header, resolved once.
type layout struct {
	time, status, outTrade, txID, outRefund, refundID, refundStatus int
	money                                                           []int   // index into the row for each moneyCols entry, -1 if absent
	vals                                                            []int64 // this row's money values, reused
	sums                                                            []int64 // running sums per moneyCols entry, 1e-5 yuan
	order, settle, refund, applied, fee, coupon                     int     // positions in moneyCols
	appID, rate, currency                                           int     // 公众账号ID, 费率, 货币种类
	mch                                                             int     // 商户号
	shared                                                          map[string]string
}

func newLayout(col map[string]int) layout {
	idx := func(name string) int {
		if i, ok := col[name]; ok {
			return i
		}
		return -1
	}
	l := layout{time: idx("交易时间"), status: idx("交易状态"), outTrade: idx("商户订单号"), txID: idx("微信订单号"),
		outRefund: idx("商户退款单号"), refundID: idx("微信退款单号"), refundStatus: idx("退款状态"), appID: idx("公众账号ID"), mch: idx("商户号"),
		rate: idx("费率"), currency: idx("货币种类"),
		money: make([]int, len(moneyCols)), vals: make([]int64, len(moneyCols)), sums: make([]int64, len(moneyCols)), shared: map[string]string{}}
	for i, c := range moneyCols {
		l.money[i] = idx(c)
	}
	pos := func(name string) int {
		for i, c := range moneyCols {
			if c == name {
				return i
			}
		}
		return -1
	}
	l.order, l.refund, l.applied, l.fee, l.coupon = pos("订单金额"), pos("退款金额"), pos("申请退款金额"), pos("手续费"), pos("代金券金额")
	l.settle = pos("应结订单金额")
	if l.money[l.settle] < 0 {
		l.settle = pos("总金额")
	}
	return l
}

func (l *layout) get(vals [][]byte, i int) []byte {
	if i < 0 {
		return nil
	}
	return vals[i]
}

// str is value i of the row as a string (empty when the bill lacks it).
func (l *layout) str(vals [][]byte, i int) string { return string(l.get(vals, i)) }

// common is value i of the row as a string shared with the rows before it
// that had the same value: a status, an app, a merchant, a currency.
func (l *layout) common(vals [][]byte, i int) string { return l.shareBytes(l.get(vals, i)) }

func (l *layout) entry(vals [][]byte, line int) (payrecon.BillEntry, error) {
	for i, c := range l.money {
		if c < 0 {
			continue
		}
		v, err := payrecon.ParseFeeE5Bytes(vals[c])
		if err != nil {
			return payrecon.BillEntry{}, fmt.Errorf("wechatpay bill line %d: %s: %w", line, moneyCols[i], err)
		}
		l.vals[i] = v
		l.sums[i] += v
	}
	t, err := payrecon.ParseBeijingTimeBytes(l.get(vals, l.time))
	if err != nil {
		return payrecon.BillEntry{}, fmt.Errorf("wechatpay bill line %d: 交易时间: %w", line, err)
	}
	e := payrecon.BillEntry{
		Line: line, At: t, Status: l.common(vals, l.status),
		OutTradeNo: l.str(vals, l.outTrade), ProviderTradeNo: l.str(vals, l.txID), FeeE5: l.vals[l.fee],
		AppID: l.common(vals, l.appID), Merchant: l.common(vals, l.mch),
	}
	if l.money[l.fee] < 0 {
		e.FeeE5 = 0
	}
	if e.OutTradeNo == "" && e.ProviderTradeNo == "" {
		return e, fmt.Errorf("wechatpay bill line %d: no order number", line)
	}
	if err := l.rateAndCurrency(vals, line, &e); err != nil {
		return e, err
	}
	switch e.Status {
	case "REFUND":
		e.Kind = payrecon.EntryRefund
		e.OutRefundNo, e.ProviderRefundNo = l.str(vals, l.outRefund), l.str(vals, l.refundID)
		e.AmountFen = l.fen(l.refund)
		if l.money[l.applied] >= 0 { // 申请退款金额; 退款金额 is what the merchant pays back
			e.AmountFen, e.DiscountFen = l.fen(l.applied), l.fen(l.applied)-l.fen(l.refund)
		}
		if s := l.get(vals, l.refundStatus); len(s) > 0 {
			e.Status = l.refundState(s)
		}
	case "SUCCESS", "REVOKED":
		e.Kind = payrecon.EntryPayment
		e.AmountFen = l.fen(l.settle)
		if l.money[l.order] >= 0 { // 订单金额; 应结订单金额 is what the merchant is paid
			e.AmountFen, e.DiscountFen = l.fen(l.order), l.fen(l.order)-l.fen(l.settle)
		}
		if l.money[l.coupon] >= 0 { // 代金券金额 counts both kinds of coupon
			e.ProviderDiscountFen = max(l.fen(l.coupon)-e.DiscountFen, 0)
		}
	default:
		return e, fmt.Errorf("wechatpay bill line %d: unknown 交易状态 %q", line, e.Status)
	}
	return e, nil
}

// refundState is a refund row's status, "REFUND/" and its 退款状态.
func (l *layout) refundState(s []byte) string {
	var buf [64]byte
	return l.shareBytes(append(append(buf[:0], "REFUND/"...), s...))
}

// shareBytes is b as a string shared with earlier equal values.
func (l *layout) shareBytes(b []byte) string {
	if s, ok := l.shared[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(l.shared) < 1024 {
		l.shared[s] = s
	}
	return s
}

// fen is this row's value of moneyCols[pos] in fen (0 if the bill has no
// such column).
func (l *layout) fen(pos int) payrecon.Fen {
	if pos < 0 || l.money[pos] < 0 {
		return 0
	}
	return payrecon.Fen(l.vals[pos] / 1000)
}

// rateAndCurrency reads the row's 费率 ("0.60%"; empty: none stated) and
// 货币种类.
func (l *layout) rateAndCurrency(vals [][]byte, line int, e *payrecon.BillEntry) error {
	e.Currency = l.shareBytes(bytes.TrimSpace(l.get(vals, l.currency)))
	r := bytes.TrimSpace(l.get(vals, l.rate))
	if len(r) == 0 {
		return nil
	}
	ppm, err := payrecon.ParseRatePPM(l.shareBytes(r))
	if err != nil {
		return fmt.Errorf("wechatpay bill line %d: 费率: %w", line, err)
	}
	e.FeeRatePPM, e.HasFeeRate = ppm, true
	return nil
}

// summaryOf maps summary field names to the detail column they total.
var summaryOf = map[string]string{
	"应结订单总金额":  "应结订单金额",
	"总交易额":     "总金额",
	"退款总金额":    "退款金额",
	"总退款金额":    "退款金额",
	"充值券退款总金额": "充值券退款金额",
	"手续费总金额":   "手续费",
	"订单总金额":    "订单金额",
	"申请退款总金额":  "申请退款金额",
}

func checkSummary(names, vals []string, tot payrecon.BillTotals, sums map[string]int64) error {
	for i, name := range names {
		name = strings.TrimSpace(name)
		if name == "总交易单数" {
			n, err := parseCount(vals[i])
			if err != nil {
				return fmt.Errorf("wechatpay bill: 总交易单数 %q: %w", vals[i], payrecon.ErrMalformed)
			}
			if counted := tot.Payments + tot.Refunds; n != counted {
				return &payrecon.TotalsMismatchError{Field: "总交易单数", Stated: vals[i], Counted: strconv.Itoa(counted)}
			}
			continue
		}
		c, ok := summaryOf[name]
		if !ok {
			continue // unknown summary field: not checkable, not an error
		}
		stated, err := payrecon.ParseYuanFixed(vals[i], 5)
		if err != nil {
			return fmt.Errorf("wechatpay bill: %s %q: %w", name, vals[i], err)
		}
		if stated != sums[c] {
			return &payrecon.TotalsMismatchError{Field: name, Stated: vals[i], Counted: formatE5(sums[c])}
		}
	}
	return nil
}

// parseCount reads a count: digits, optionally written as an integral
// decimal ("45.0", as some real bills write 总交易单数). A fraction other
// than zeros ("45.5"), a sign or anything else is an error.
func parseCount(s string) (int, error) {
	whole, frac, dotted := strings.Cut(s, ".")
	if dotted && (frac == "" || strings.Trim(frac, "0") != "") {
		return 0, fmt.Errorf("count %q: not a whole number", s)
	}
	if whole == "" || strings.Trim(whole, "0123456789") != "" {
		return 0, fmt.Errorf("count %q: not a number", s)
	}
	return strconv.Atoi(whole)
}

func formatE5(v int64) string {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%05d", sign, v/100000, v%100000)
}

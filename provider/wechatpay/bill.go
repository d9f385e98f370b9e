package wechatpay

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
)

// ErrBillFormat is returned for a file that is not a WeChat Pay trade bill.
var ErrBillFormat = errors.New("not a WeChat Pay trade bill")

// ParseBill streams a WeChat Pay trade bill (ALL, SUCCESS, REFUND or the
// legacy column set; UTF-8 with or without BOM; CRLF or LF), calling fn for
// each detail row, and checks the summary row against the rows. Columns and
// summary fields are found by header name. Values are split on ",`" after
// the leading backtick, so commas inside free text survive.
func ParseBill(r io.Reader, fn func(payrecon.BillEntry) error) (payrecon.BillTotals, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var (
		tot     payrecon.BillTotals
		header  []string
		col     map[string]int
		sumHead []string
		sumVals []string
		line    int
		sums    = map[string]int64{} // column name -> sum in 1e-5 yuan
	)
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if line == 1 {
			text = strings.TrimPrefix(text, "\uFEFF")
		}
		if strings.TrimSpace(text) == "" {
			continue
		}
		switch {
		case header == nil:
			if strings.HasPrefix(text, "`") {
				return tot, fmt.Errorf("wechatpay bill: %w: no header row", ErrBillFormat)
			}
			header = strings.Split(text, ",")
			col = map[string]int{}
			for i, h := range header {
				col[strings.TrimSpace(h)] = i
			}
			for _, need := range []string{"交易时间", "微信订单号", "商户订单号", "交易状态"} {
				if _, ok := col[need]; !ok {
					return tot, fmt.Errorf("wechatpay bill: %w: no column %s", ErrBillFormat, need)
				}
			}
			if _, ok := col[firstCol(col, "应结订单金额", "总金额")]; !ok {
				return tot, fmt.Errorf("wechatpay bill: %w: no column 应结订单金额/总金额", ErrBillFormat)
			}
		case sumHead == nil && strings.HasPrefix(text, "总交易单数"):
			sumHead = strings.Split(text, ",")
		case sumHead != nil:
			if sumVals != nil {
				return tot, fmt.Errorf("wechatpay bill line %d: content after the summary row", line)
			}
			sumVals = splitValues(text)
			if len(sumVals) != len(sumHead) {
				return tot, fmt.Errorf("wechatpay bill line %d: summary has %d values for %d names", line, len(sumVals), len(sumHead))
			}
		default:
			if !strings.HasPrefix(text, "`") {
				return tot, fmt.Errorf("wechatpay bill line %d: %w: row without leading backtick", line, ErrBillFormat)
			}
			vals := splitValues(text)
			if len(vals) != len(header) {
				return tot, fmt.Errorf("wechatpay bill line %d: %d values for %d columns (an unescaped \",`\" in free text?)", line, len(vals), len(header))
			}
			e, err := entry(vals, col, line, sums)
			if err != nil {
				return tot, err
			}
			if e.Kind == payrecon.EntryRefund {
				tot.Refunds++
				tot.RefundFen += e.AmountFen
			} else {
				tot.Payments++
				tot.PaymentFen += e.AmountFen
			}
			tot.FeeE5 += e.FeeE5
			if err := fn(e); err != nil {
				return tot, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return tot, fmt.Errorf("wechatpay bill: read: %w", err)
	}
	if header == nil {
		return tot, fmt.Errorf("wechatpay bill: %w: empty file", ErrBillFormat)
	}
	if sumVals == nil {
		return tot, fmt.Errorf("wechatpay bill: %w: summary row missing (truncated file?)", ErrBillFormat)
	}
	return tot, checkSummary(sumHead, sumVals, tot, sums)
}

// splitValues strips the leading backtick and splits on ",`".
func splitValues(text string) []string {
	return strings.Split(strings.TrimPrefix(text, "`"), ",`")
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

func entry(vals []string, col map[string]int, line int, sums map[string]int64) (payrecon.BillEntry, error) {
	get := func(name string) string {
		if i, ok := col[name]; ok {
			return vals[i]
		}
		return ""
	}
	money := map[string]int64{}
	for _, c := range moneyCols {
		if _, ok := col[c]; !ok {
			continue
		}
		v, err := payrecon.ParseYuanFixed(orZero(get(c)), 5)
		if err != nil {
			return payrecon.BillEntry{}, fmt.Errorf("wechatpay bill line %d: %s: %w", line, c, err)
		}
		money[c] = v
		sums[c] += v
	}
	t, err := time.ParseInLocation("2006-01-02 15:04:05", get("交易时间"), payrecon.ShanghaiFixed)
	if err != nil {
		return payrecon.BillEntry{}, fmt.Errorf("wechatpay bill line %d: 交易时间 %q: %w", line, get("交易时间"), payrecon.ErrMalformed)
	}
	e := payrecon.BillEntry{
		Line: line, At: t.UTC(), Status: get("交易状态"),
		OutTradeNo: get("商户订单号"), ProviderTradeNo: get("微信订单号"), FeeE5: money["手续费"],
	}
	if e.OutTradeNo == "" && e.ProviderTradeNo == "" {
		return e, fmt.Errorf("wechatpay bill line %d: no order number", line)
	}
	fen := func(e5 int64) payrecon.Fen { return payrecon.Fen(e5 / 1000) }
	switch e.Status {
	case "REFUND":
		e.Kind = payrecon.EntryRefund
		e.OutRefundNo, e.ProviderRefundNo = get("商户退款单号"), get("微信退款单号")
		if _, ok := col["申请退款金额"]; ok {
			e.AmountFen = fen(money["申请退款金额"])
		} else {
			e.AmountFen = fen(money["退款金额"])
		}
		if s := get("退款状态"); s != "" {
			e.Status = "REFUND/" + s
		}
	case "SUCCESS", "REVOKED":
		e.Kind = payrecon.EntryPayment
		if _, ok := col["订单金额"]; ok {
			e.AmountFen = fen(money["订单金额"])
		} else {
			e.AmountFen = fen(money[firstCol(col, "应结订单金额", "总金额")])
		}
	default:
		return e, fmt.Errorf("wechatpay bill line %d: unknown 交易状态 %q", line, e.Status)
	}
	return e, nil
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
			n, err := strconv.Atoi(vals[i])
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

func formatE5(v int64) string {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%05d", sign, v/100000, v%100000)
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

// Package alipay speaks Alipay's open-platform v2 protocol: verifying
// asynchronous notifications (RSA2 and legacy RSA, public-key and
// certificate modes, UTF-8 and GBK), and the signing rules shared with the
// gateway client. See ../shared/protocols/alipay.md for the sources.
package alipay

import (
	"bytes"
	"cmp"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/payrecon/payrecon"
)

// Key is one Alipay public key that may sign messages, with a name for
// provenance ("public-key" or "cert:<sn>").
type Key struct {
	Name string
	Pub  *rsa.PublicKey
}

// Verifier checks notifications for one Alipay app.
type Verifier struct {
	Account  string
	AppID    string
	SellerID string // optional; when set, other sellers are rejected
	Keys     []Key
}

// Reply bodies. Alipay stops retrying only on the bare body "success".
const (
	ReplySuccess = "success"
	ReplyFailure = "failure"
)

// Verify parses an Alipay form notification exactly once, verifies its
// signature over the decoded bytes (V1 rule first, then the V2
// application-gateway rule that keeps sign_type), checks app_id and seller_id,
// and returns the ledger event it carries. Errors wrap the payrecon
// rejection sentinels.
func (v *Verifier) Verify(body []byte) (*payrecon.Notification, error) {
	params, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("alipay: parse form: %w", payrecon.ErrMalformed)
	}
	for k, vs := range params {
		if len(vs) != 1 {
			return nil, fmt.Errorf("alipay: parameter %q repeated: %w", k, payrecon.ErrMalformed)
		}
	}
	sign := params.Get("sign")
	if sign == "" {
		return nil, fmt.Errorf("alipay: no sign: %w", payrecon.ErrBadSignature)
	}
	st := SignType(params.Get("sign_type"))
	if _, err := st.hash(); err != nil {
		return nil, fmt.Errorf("alipay: %v: %w", err, payrecon.ErrBadSignature)
	}
	var protocol payrecon.Protocol
	signedBy := ""
	for _, keep := range []bool{false, true} {
		content := []byte(SignContent(params, keep))
		for _, k := range v.Keys {
			if Verify(k.Pub, st, content, sign) == nil {
				signedBy = k.Name
				protocol = payrecon.ProtocolAlipay
				if keep {
					protocol = payrecon.ProtocolAlipayGateway
				}
				break
			}
		}
		if signedBy != "" {
			break
		}
	}
	if signedBy == "" {
		return nil, fmt.Errorf("alipay: %w", payrecon.ErrBadSignature)
	}

	// Signed: now decode the values for use.
	p, err := utf8Params(params)
	if err != nil {
		return nil, err
	}
	if p.Get("app_id") != v.AppID {
		return nil, fmt.Errorf("alipay: app_id %q: %w", p.Get("app_id"), payrecon.ErrAccountMismatch)
	}
	if v.SellerID != "" && p.Get("seller_id") != "" && p.Get("seller_id") != v.SellerID {
		return nil, fmt.Errorf("alipay: seller_id %q: %w", p.Get("seller_id"), payrecon.ErrAccountMismatch)
	}
	n := &payrecon.Notification{
		Account:  v.Account,
		Provider: payrecon.Alipay,
		Protocol: protocol,
		SignedBy: signedBy,
	}
	switch {
	case p.Get("msg_method") == "alipay.fund.trans.order.changed":
		err = transferEvent(p, n)
	case p.Get("trade_status") != "":
		if v.SellerID != "" && p.Get("seller_id") == "" {
			return nil, fmt.Errorf("alipay: seller_id missing: %w", payrecon.ErrAccountMismatch)
		}
		err = tradeEvent(p, n)
	default:
		// Verified but carries no trade state (gateway messages such as
		// service-market orders, return_url redirects): kept raw only.
		n.EventType = cmp.Or(p.Get("notify_type"), p.Get("msg_method"), p.Get("method"), "unknown")
		n.Event.Kind = payrecon.EventOther
		n.Event.OutTradeNo = p.Get("out_trade_no")
		n.DedupKey = "other|" + cmp.Or(p.Get("notify_id"), sign)
	}
	if err != nil {
		return nil, err
	}
	return n, nil
}

// utf8Params converts the values of a GBK notification to UTF-8.
func utf8Params(params url.Values) (url.Values, error) {
	cs := strings.ToLower(params.Get("charset"))
	if cs != "gbk" && cs != "gb2312" && cs != "gb18030" {
		return params, nil
	}
	dec := simplifiedchinese.GB18030.NewDecoder()
	out := make(url.Values, len(params))
	for k, vs := range params {
		s, err := dec.String(vs[0])
		if err != nil {
			return nil, fmt.Errorf("alipay: decode %s as %s: %w", k, cs, payrecon.ErrMalformed)
		}
		out[k] = []string{s}
	}
	return out, nil
}

func tradeEvent(p url.Values, n *payrecon.Notification) error {
	status := p.Get("trade_status")
	n.EventType = status
	ev := &n.Event
	ev.OutTradeNo = p.Get("out_trade_no")
	ev.ProviderTradeNo = p.Get("trade_no")
	if ev.OutTradeNo == "" || ev.ProviderTradeNo == "" {
		return fmt.Errorf("alipay: out_trade_no and trade_no are required: %w", payrecon.ErrMalformed)
	}
	if s := p.Get("total_amount"); s != "" {
		amt, err := payrecon.ParseYuan(s)
		if err != nil || amt < 0 {
			return fmt.Errorf("alipay: total_amount: %w", payrecon.ErrMalformed)
		}
		ev.AmountFen, ev.HasAmount = amt, true
	}
	var err error
	if ev.PaidAt, err = parseTime(p.Get("gmt_payment")); err != nil {
		return fmt.Errorf("alipay: gmt_payment: %w", err)
	}
	if ev.ClosedAt, err = parseTime(p.Get("gmt_close")); err != nil {
		return fmt.Errorf("alipay: gmt_close: %w", err)
	}
	refundFee := p.Get("refund_fee")
	isRefund := refundFee != "" && p.Get("gmt_refund") != ""
	switch {
	case isRefund && (status == "TRADE_SUCCESS" || status == "TRADE_FINISHED" || status == "TRADE_CLOSED"):
		total, err := payrecon.ParseYuan(refundFee)
		if err != nil || total <= 0 {
			return fmt.Errorf("alipay: refund_fee: %w", payrecon.ErrMalformed)
		}
		at, err := parseTime(p.Get("gmt_refund"))
		if err != nil {
			return fmt.Errorf("alipay: gmt_refund: %w", err)
		}
		ev.Kind = payrecon.EventRefund
		ev.Status = payrecon.StatusPaid
		if status == "TRADE_CLOSED" {
			ev.Status = payrecon.StatusRefunded
		}
		ev.Refund = &payrecon.Refund{
			// Without an out_request_no, Alipay defaults the refund's
			// request number to the out_trade_no.
			OutRefundNo: cmp.Or(p.Get("out_biz_no"), ev.OutTradeNo),
			TotalFen:    total,
			Status:      payrecon.RefundSuccess,
			RefundedAt:  at,
		}
	case status == "TRADE_SUCCESS" || status == "TRADE_FINISHED":
		if !ev.HasAmount {
			return fmt.Errorf("alipay: total_amount missing: %w", payrecon.ErrMalformed)
		}
		ev.Kind = payrecon.EventPayment
		ev.Status = payrecon.StatusPaid
	case status == "TRADE_CLOSED":
		ev.Kind = payrecon.EventClose
		ev.Status = payrecon.StatusClosed
	case status == "WAIT_BUYER_PAY":
		ev.Kind = payrecon.EventPending
		ev.Status = payrecon.StatusPending
	default:
		return fmt.Errorf("alipay: trade_status %q: %w", status, payrecon.ErrUnsupported)
	}
	// notify_id alone is not a safe key (see alipay.md §a).
	n.DedupKey = strings.Join([]string{"trade", p.Get("notify_id"), ev.ProviderTradeNo, status, p.Get("out_biz_no"), refundFee}, "|")
	return nil
}

type transferBiz struct {
	OutBizNo       string `json:"out_biz_no"`
	OrderID        string `json:"order_id"`
	PayFundOrderID string `json:"pay_fund_order_id"`
	Status         string `json:"status"`
	TransAmount    string `json:"trans_amount"`
	PayDate        string `json:"pay_date"`
}

func transferEvent(p url.Values, n *payrecon.Notification) error {
	var b transferBiz
	dec := json.NewDecoder(bytes.NewReader([]byte(p.Get("biz_content"))))
	if err := dec.Decode(&b); err != nil {
		return fmt.Errorf("alipay: biz_content: %w", payrecon.ErrMalformed)
	}
	if b.OutBizNo == "" || b.Status == "" {
		return fmt.Errorf("alipay: transfer needs out_biz_no and status: %w", payrecon.ErrMalformed)
	}
	amt, err := payrecon.ParseYuan(b.TransAmount)
	if err != nil || amt < 0 {
		return fmt.Errorf("alipay: trans_amount: %w", payrecon.ErrMalformed)
	}
	at, err := parseTime(b.PayDate)
	if err != nil {
		return fmt.Errorf("alipay: pay_date: %w", err)
	}
	n.EventType = "alipay.fund.trans.order.changed:" + b.Status
	n.Event = payrecon.Event{
		Kind: payrecon.EventTransfer,
		Transfer: &payrecon.Transfer{
			OutBizNo: b.OutBizNo, OrderID: b.OrderID, AmountFen: amt, Status: b.Status, PaidAt: at,
		},
	}
	n.DedupKey = strings.Join([]string{"transfer", p.Get("notify_id"), b.OutBizNo, b.Status}, "|")
	return nil
}

// parseTime parses Alipay's Beijing-time "2006-01-02 15:04:05" with optional
// milliseconds (gmt_refund) and returns UTC. Empty gives the zero time.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	layout := "2006-01-02 15:04:05"
	if len(s) > len(layout) {
		layout = "2006-01-02 15:04:05.000"
	}
	t, err := time.ParseInLocation(layout, s, payrecon.ShanghaiFixed)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: %w", s, payrecon.ErrMalformed)
	}
	return t.UTC(), nil
}

// FormatTime formats t as Alipay's Beijing-time "2006-01-02 15:04:05".
func FormatTime(t time.Time) string {
	return t.In(payrecon.ShanghaiFixed).Format("2006-01-02 15:04:05")
}

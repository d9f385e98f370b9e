package alipay

import (
	"cmp"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider"
)

// Client calls the Alipay open-platform v2 gateway for one app: every
// request RSA2-signed with charset=utf-8, every response verified over the
// raw bytes of its *_response object, business errors returned as
// *provider.Error.
type Client struct {
	AppID   string
	Gateway string
	Key     *rsa.PrivateKey
	// Keys verify responses (the same keys that verify notifications).
	Keys []Key
	// AppCertSN and RootCertSN are set in certificate mode.
	AppCertSN, RootCertSN string
	HTTP                  *http.Client
	Now                   func() time.Time
}

var _ provider.Client = (*Client)(nil)

// call runs one gateway method and returns the verified *_response object.
func (c *Client) call(ctx context.Context, method string, biz any) (json.RawMessage, error) {
	op := "alipay " + method
	bizJSON, err := json.Marshal(biz)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	p := url.Values{}
	p.Set("app_id", c.AppID)
	p.Set("method", method)
	p.Set("format", "JSON")
	p.Set("charset", "utf-8")
	p.Set("sign_type", string(RSA2))
	p.Set("timestamp", FormatTime(c.Now()))
	p.Set("version", "1.0")
	p.Set("biz_content", string(bizJSON))
	if c.AppCertSN != "" {
		p.Set("app_cert_sn", c.AppCertSN)
		p.Set("alipay_root_cert_sn", c.RootCertSN)
	}
	sig, err := Sign(c.Key, RSA2, []byte(SignContent(p, true)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	p.Set("sign", sig)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Gateway+"?charset=utf-8", strings.NewReader(p.Encode()))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=utf-8")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, &provider.Error{Op: op, Message: redact(err), Retryable: true}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, &provider.Error{Op: op, Message: "read response", Retryable: true}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &provider.Error{Op: op, Status: resp.StatusCode, Retryable: resp.StatusCode >= 500 || resp.StatusCode == 429}
	}
	return c.verifyResponse(op, method, body)
}

// verifyResponse extracts the raw *_response object and verifies the
// signature over exactly those bytes (Alipay escapes "/" as "\/" and the
// signature covers that spelling, so re-marshalling would break it).
func (c *Client) verifyResponse(op, method string, body []byte) (json.RawMessage, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, &provider.Error{Op: op, Message: "response is not JSON", Err: provider.ErrBadResponse}
	}
	name := strings.ReplaceAll(method, ".", "_") + "_response"
	raw, ok := top[name]
	if !ok {
		raw, ok = top["error_response"]
	}
	if !ok {
		return nil, &provider.Error{Op: op, Message: "no " + name, Err: provider.ErrBadResponse}
	}
	var sig string
	if s, ok := top["sign"]; ok {
		json.Unmarshal(s, &sig)
	}
	var head struct {
		Code    string `json:"code"`
		Msg     string `json:"msg"`
		SubCode string `json:"sub_code"`
		SubMsg  string `json:"sub_msg"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, &provider.Error{Op: op, Message: "bad response object", Err: provider.ErrBadResponse}
	}
	verified := false
	for _, k := range c.Keys {
		if sig != "" && Verify(k.Pub, RSA2, raw, sig) == nil {
			verified = true
			break
		}
	}
	// Gateway-level errors that name no app (an unknown app_id or
	// method) come unsigned as error_response; everything else, our own
	// bad signature (isv.invalid-signature) included, must verify.
	if !verified && !(sig == "" && head.Code != "10000" && head.Code != "40004") {
		return nil, &provider.Error{Op: op, Message: "response signature does not verify", Err: provider.ErrBadResponse}
	}
	if head.Code == "10000" {
		return raw, nil
	}
	e := &provider.Error{Op: op, Code: head.Code, SubCode: head.SubCode, Message: cmp.Or(head.SubMsg, head.Msg)}
	switch {
	case head.Code == "20000" || head.SubCode == "ACQ.SYSTEM_ERROR" || head.Code == "40005" ||
		strings.HasSuffix(head.SubCode, "call-limited"):
		e.Retryable = true
	case head.SubCode == "ACQ.TRADE_NOT_EXIST" && verified:
		// Only Alipay's signed word says a trade does not exist; an
		// unsigned one concludes nothing.
		e.Err = provider.ErrNotFound
	case head.SubCode == "isp.bill_not_exist":
		e.Err, e.Retryable = provider.ErrBillNotReady, true
	}
	return nil, e
}

// redact keeps the kind of a transport error without the URL.
func redact(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + ": " + ue.Err.Error()
	}
	return err.Error()
}

// TradeQueryResponse is the subset of alipay.trade.query payrecon reads.
type TradeQueryResponse struct {
	TradeNo     string `json:"trade_no"`
	OutTradeNo  string `json:"out_trade_no"`
	TradeStatus string `json:"trade_status"`
	TotalAmount string `json:"total_amount"`
	// SendPayDate is when the money reached the seller; GmtPayment, the
	// notification's name for the payment time, is read when a response
	// carries it instead.
	SendPayDate string `json:"send_pay_date"`
	GmtPayment  string `json:"gmt_payment"`
	// TransCurrency is the currency the trade is priced in (标价币种),
	// stated for trades priced in another currency than CNY.
	TransCurrency string `json:"trans_currency"`
}

// QueryPayment implements provider.Client with alipay.trade.query.
func (c *Client) QueryPayment(ctx context.Context, outTradeNo, tradeNo string) (provider.Query, error) {
	biz := map[string]string{"out_trade_no": outTradeNo}
	if tradeNo != "" {
		biz = map[string]string{"trade_no": tradeNo}
	}
	raw, err := c.call(ctx, "alipay.trade.query", biz)
	if err != nil {
		return provider.Query{}, err
	}
	var r TradeQueryResponse
	if err := json.Unmarshal(raw, &r); err != nil {
		return provider.Query{}, &provider.Error{Op: "alipay.trade.query", Message: "decode", Err: provider.ErrBadResponse}
	}
	q := provider.Query{State: r.TradeStatus, Currency: r.TransCurrency,
		Evidence: fmt.Sprintf("alipay.trade.query trade_no=%s trade_status=%s total_amount=%s", r.TradeNo, r.TradeStatus, r.TotalAmount)}
	amt, err := payrecon.ParseYuan(r.TotalAmount)
	if err != nil {
		return q, &provider.Error{Op: "alipay.trade.query", Message: "total_amount", Err: provider.ErrBadResponse}
	}
	ev := &payrecon.Event{OutTradeNo: cmp.Or(r.OutTradeNo, outTradeNo), ProviderTradeNo: r.TradeNo, AmountFen: amt, HasAmount: true}
	paidAt, err := parseTime(cmp.Or(r.SendPayDate, r.GmtPayment))
	if err != nil {
		return q, &provider.Error{Op: "alipay.trade.query", Message: "send_pay_date", Err: provider.ErrBadResponse}
	}
	switch r.TradeStatus {
	case "TRADE_SUCCESS", "TRADE_FINISHED":
		ev.Kind, ev.Status, ev.PaidAt = payrecon.EventPayment, payrecon.StatusPaid, paidAt
		q.Event = ev
	case "TRADE_CLOSED":
		// TRADE_CLOSED is "closed unpaid" or "paid, then fully refunded".
		// A payment time tells them apart: the trade was paid, and the
		// refunds, queried separately, account for the closing.
		ev.Kind, ev.Status = payrecon.EventClose, payrecon.StatusClosed
		if !paidAt.IsZero() {
			ev.Kind, ev.Status, ev.PaidAt = payrecon.EventPayment, payrecon.StatusPaid, paidAt
			q.Evidence += " send_pay_date=" + FormatTime(paidAt) + " (paid, then fully refunded)"
		}
		q.Event = ev
	case "WAIT_BUYER_PAY":
		ev.Kind, ev.Status = payrecon.EventPending, payrecon.StatusPending
		q.Event = ev
	}
	return q, nil
}

// QueryRefund implements provider.Client with
// alipay.trade.fastpay.refund.query. A response without
// refund_status=REFUND_SUCCESS means the refund did not happen.
func (c *Client) QueryRefund(ctx context.Context, outTradeNo, outRequestNo string) (provider.Query, error) {
	raw, err := c.call(ctx, "alipay.trade.fastpay.refund.query", map[string]any{
		"out_trade_no": outTradeNo, "out_request_no": outRequestNo, "query_options": []string{"gmt_refund_pay"},
	})
	if err != nil {
		return provider.Query{}, err
	}
	var r struct {
		TradeNo      string `json:"trade_no"`
		OutTradeNo   string `json:"out_trade_no"`
		OutRequestNo string `json:"out_request_no"`
		TotalAmount  string `json:"total_amount"`
		RefundAmount string `json:"refund_amount"`
		RefundStatus string `json:"refund_status"`
		GmtRefundPay string `json:"gmt_refund_pay"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return provider.Query{}, &provider.Error{Op: "alipay.trade.fastpay.refund.query", Message: "decode", Err: provider.ErrBadResponse}
	}
	q := provider.Query{State: r.RefundStatus, Evidence: fmt.Sprintf("alipay.trade.fastpay.refund.query out_request_no=%s refund_status=%s refund_amount=%s", r.OutRequestNo, r.RefundStatus, r.RefundAmount)}
	if r.RefundStatus != "REFUND_SUCCESS" {
		return q, &provider.Error{Op: "alipay.trade.fastpay.refund.query", Code: "10000", Message: "no successful refund", Err: provider.ErrNotFound}
	}
	amt, err1 := payrecon.ParseYuan(r.RefundAmount)
	total, err2 := payrecon.ParseYuan(r.TotalAmount)
	at, err3 := parseTime(r.GmtRefundPay)
	if err := errors.Join(err1, err2, err3); err != nil {
		return q, &provider.Error{Op: "alipay.trade.fastpay.refund.query", Message: "decode amounts", Err: provider.ErrBadResponse}
	}
	q.Event = &payrecon.Event{Kind: payrecon.EventRefund, Status: payrecon.StatusPaid,
		OutTradeNo: cmp.Or(r.OutTradeNo, outTradeNo), ProviderTradeNo: r.TradeNo, AmountFen: total, HasAmount: true,
		Refund: &payrecon.Refund{OutRefundNo: cmp.Or(r.OutRequestNo, outRequestNo), AmountFen: amt, Status: payrecon.RefundSuccess, RefundedAt: at}}
	return q, nil
}

// DownloadBill implements provider.Client: bill.downloadurl.query for
// bill_type=trade, then an immediate GET of the URL (it expires in ~30 s).
func (c *Client) DownloadBill(ctx context.Context, day time.Time, w io.Writer) (provider.BillFormat, error) {
	raw, err := c.call(ctx, "alipay.data.dataservice.bill.downloadurl.query", map[string]string{
		"bill_type": "trade", "bill_date": day.In(payrecon.ShanghaiFixed).Format("2006-01-02"),
	})
	if err != nil {
		return "", err
	}
	var r struct {
		URL string `json:"bill_download_url"`
	}
	if err := json.Unmarshal(raw, &r); err != nil || r.URL == "" {
		return "", &provider.Error{Op: "alipay bill download", Message: "no bill_download_url", Err: provider.ErrBadResponse}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL, nil)
	if err != nil {
		return "", &provider.Error{Op: "alipay bill download", Message: "bad bill_download_url", Err: provider.ErrBadResponse}
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return "", &provider.Error{Op: "alipay bill download", Message: redact(err), Retryable: true}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", &provider.Error{Op: "alipay bill download", Status: resp.StatusCode, Retryable: true}
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return "", &provider.Error{Op: "alipay bill download", Message: "read body", Retryable: true}
	}
	return provider.AlipayZip, nil
}

// TransferResult is what alipay.fund.trans.common.query reports.
type TransferResult struct {
	OutBizNo  string
	OrderID   string
	Status    string // SUCCESS, WAIT_PAY, CLOSED, FAIL, DEALING, REFUND
	AmountFen payrecon.Fen
	PaidAt    time.Time
}

// QueryTransfer asks for an outgoing transfer by the merchant's out_biz_no
// (alipay.fund.trans.common.query, product TRANS_ACCOUNT_NO_PWD).
func (c *Client) QueryTransfer(ctx context.Context, outBizNo string) (TransferResult, error) {
	raw, err := c.call(ctx, "alipay.fund.trans.common.query", map[string]string{
		"product_code": "TRANS_ACCOUNT_NO_PWD", "biz_scene": "DIRECT_TRANSFER", "out_biz_no": outBizNo,
	})
	if err != nil {
		return TransferResult{}, err
	}
	var r struct {
		OrderID     string `json:"order_id"`
		OutBizNo    string `json:"out_biz_no"`
		Status      string `json:"status"`
		TransAmount string `json:"trans_amount"`
		PayDate     string `json:"pay_date"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return TransferResult{}, &provider.Error{Op: "alipay.fund.trans.common.query", Message: "decode", Err: provider.ErrBadResponse}
	}
	amt, err1 := payrecon.ParseYuan(r.TransAmount)
	at, err2 := parseTime(r.PayDate)
	if err := errors.Join(err1, err2); err != nil {
		return TransferResult{}, &provider.Error{Op: "alipay.fund.trans.common.query", Message: "decode amounts", Err: provider.ErrBadResponse}
	}
	return TransferResult{OutBizNo: cmp.Or(r.OutBizNo, outBizNo), OrderID: r.OrderID, Status: r.Status, AmountFen: amt, PaidAt: at}, nil
}

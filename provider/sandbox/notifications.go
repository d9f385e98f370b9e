package sandbox

import (
	"cmp"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider/alipay"
	"github.com/payrecon/payrecon/provider/wechatpay"
)

// AlipayTrade describes an Alipay trade_status_sync notification.
type AlipayTrade struct {
	OutTradeNo  string
	TradeNo     string
	Amount      payrecon.Fen
	Status      string // TRADE_SUCCESS, TRADE_FINISHED, TRADE_CLOSED, WAIT_BUYER_PAY
	Created     time.Time
	Paid        time.Time
	Subject     string
	RefundTotal payrecon.Fen // > 0 for a refund notification (running total)
	OutBizNo    string
	Refunded    time.Time
	NotifyID    string
	// AppID overrides the sandbox app (to forge a notification for another app).
	AppID string
}

// AlipayTradeParams returns the notification parameters, unsigned.
func (s *Sandbox) AlipayTradeParams(t AlipayTrade) url.Values {
	appID := t.AppID
	if appID == "" {
		appID = s.ID.Alipay.AppID
	}
	if t.NotifyID == "" {
		t.NotifyID = randDigits(34)
	}
	if t.Created.IsZero() {
		t.Created = t.Paid.Add(-20 * time.Second)
	}
	p := url.Values{}
	set := func(k, v string) {
		if v != "" {
			p.Set(k, v)
		}
	}
	set("notify_time", alipay.FormatTime(s.Now()))
	set("notify_type", "trade_status_sync")
	set("notify_id", t.NotifyID)
	set("app_id", appID)
	set("auth_app_id", appID)
	set("charset", "utf-8")
	set("version", "1.0")
	set("trade_no", t.TradeNo)
	set("out_trade_no", t.OutTradeNo)
	set("buyer_id", "2088102"+randDigits(9))
	set("buyer_logon_id", "sbx***@example.com")
	set("seller_id", s.ID.Alipay.SellerID)
	set("seller_email", "merchant@example.com")
	set("trade_status", t.Status)
	set("total_amount", t.Amount.Yuan())
	set("subject", cmp.Or(t.Subject, "payrecon 沙箱 订单 "+t.OutTradeNo))
	set("gmt_create", alipay.FormatTime(t.Created))
	if !t.Paid.IsZero() {
		set("gmt_payment", alipay.FormatTime(t.Paid))
	}
	if t.RefundTotal > 0 {
		set("refund_fee", t.RefundTotal.Yuan())
		set("out_biz_no", t.OutBizNo)
		set("gmt_refund", t.Refunded.In(payrecon.ShanghaiFixed).Format("2006-01-02 15:04:05.000"))
		if t.Status == "TRADE_CLOSED" {
			set("gmt_close", alipay.FormatTime(t.Refunded))
		}
	} else if t.Status == "TRADE_SUCCESS" || t.Status == "TRADE_FINISHED" {
		set("receipt_amount", t.Amount.Yuan())
		set("invoice_amount", t.Amount.Yuan())
		set("buyer_pay_amount", t.Amount.Yuan())
		set("point_amount", "0.00")
		set("fund_bill_list", fmt.Sprintf(`[{"amount":"%s","fundChannel":"ALIPAYACCOUNT"}]`, t.Amount.Yuan()))
	}
	return p
}

// AlipayTransferParams returns an alipay.fund.trans.order.changed message.
func (s *Sandbox) AlipayTransferParams(outBizNo string, amount payrecon.Fen, status string, at time.Time) url.Values {
	biz, _ := json.Marshal(map[string]string{
		"out_biz_no": outBizNo, "order_id": "2026" + randDigits(28), "pay_fund_order_id": "2026" + randDigits(28),
		"status": status, "action_type": "FINISH", "trans_amount": amount.Yuan(), "pay_date": alipay.FormatTime(at),
		"product_code": "TRANS_ACCOUNT_NO_PWD", "biz_scene": "DIRECT_TRANSFER", "origin_interface": "alipay.fund.trans.uni.transfer",
	})
	p := url.Values{}
	p.Set("msg_method", "alipay.fund.trans.order.changed")
	p.Set("biz_content", string(biz))
	p.Set("notify_id", randHex(16))
	p.Set("utc_timestamp", strconv.FormatInt(at.UnixMilli(), 10))
	p.Set("version", "1.1")
	p.Set("app_id", s.ID.Alipay.AppID)
	p.Set("charset", "utf-8")
	return p
}

// AlipayOptions choose how an Alipay message is signed and encoded.
type AlipayOptions struct {
	SignType alipay.SignType // default RSA2
	GBK      bool            // encode values in GBK and declare charset=GBK
	Gateway  bool            // V2 rule: keep sign_type in the signed string
	Key      *rsa.PrivateKey // sign with another key (a forgery)
}

// SignAlipay signs p with Alipay's key and returns the form body.
func (s *Sandbox) SignAlipay(p url.Values, opt AlipayOptions) ([]byte, error) {
	if opt.SignType == "" {
		opt.SignType = alipay.RSA2
	}
	key := opt.Key
	if key == nil {
		key = s.alipayKey
	}
	q := url.Values{}
	for k, v := range p {
		q[k] = append([]string(nil), v...)
	}
	q.Set("sign_type", string(opt.SignType))
	if opt.GBK {
		q.Set("charset", "GBK")
		enc := simplifiedchinese.GBK.NewEncoder()
		for k, v := range q {
			g, err := enc.String(v[0])
			if err != nil {
				return nil, fmt.Errorf("encode %s as GBK: %w", k, err)
			}
			q[k] = []string{g}
		}
	}
	sig, err := alipay.Sign(key, opt.SignType, []byte(alipay.SignContent(q, opt.Gateway)))
	if err != nil {
		return nil, err
	}
	q.Set("sign", sig)
	return []byte(q.Encode()), nil
}

// WeChatTransaction describes a WeChat Pay payment.
type WeChatTransaction struct {
	OutTradeNo    string
	TransactionID string
	Amount        payrecon.Fen
	State         string // SUCCESS (default), CLOSED, NOTPAY …
	Paid          time.Time
	MchID, AppID  string // override the sandbox merchant (forgery, or another of its apps)
	Currency      string // amount.currency and payer_currency (default CNY)
}

// WeChatRefund describes a WeChat Pay refund.
type WeChatRefund struct {
	OutTradeNo    string
	TransactionID string
	OutRefundNo   string
	RefundID      string
	Total         payrecon.Fen
	Refund        payrecon.Fen
	Status        string // SUCCESS, ABNORMAL, CLOSED
	At            time.Time
}

func (s *Sandbox) transactionResource(t WeChatTransaction) map[string]any {
	state := cmp.Or(t.State, "SUCCESS")
	r := map[string]any{
		"appid": cmp.Or(t.AppID, s.ID.WeChat.AppID), "mchid": cmp.Or(t.MchID, s.ID.WeChat.MchID),
		"out_trade_no": t.OutTradeNo, "transaction_id": t.TransactionID, "trade_type": "NATIVE",
		"trade_state": state, "trade_state_desc": "支付成功", "bank_type": "OTHERS", "attach": "",
		"payer":  map[string]string{"openid": "oSandbox" + randHex(10)},
		"amount": map[string]any{"total": int64(t.Amount), "payer_total": int64(t.Amount), "currency": cmp.Or(t.Currency, "CNY"), "payer_currency": cmp.Or(t.Currency, "CNY")},
	}
	if state == "SUCCESS" {
		r["success_time"] = t.Paid.In(payrecon.ShanghaiFixed).Format(time.RFC3339)
	}
	return r
}

func (s *Sandbox) refundResource(r WeChatRefund) map[string]any {
	m := map[string]any{
		"mchid": s.ID.WeChat.MchID, "out_trade_no": r.OutTradeNo, "transaction_id": r.TransactionID,
		"out_refund_no": r.OutRefundNo, "refund_id": r.RefundID, "refund_status": cmp.Or(r.Status, "SUCCESS"),
		"user_received_account": "支付用户零钱",
		"amount":                map[string]any{"total": int64(r.Total), "refund": int64(r.Refund), "payer_total": int64(r.Total), "payer_refund": int64(r.Refund)},
	}
	if cmp.Or(r.Status, "SUCCESS") == "SUCCESS" {
		m["success_time"] = r.At.In(payrecon.ShanghaiFixed).Format(time.RFC3339)
	}
	return m
}

// WeChatV3Options choose how an APIv3 callback is signed.
type WeChatV3Options struct {
	// ByCertificate signs with the platform certificate key and its serial
	// instead of the WeChat Pay public key and its PUB_KEY_ID.
	ByCertificate bool
	// Timestamp overrides the signing time.
	Timestamp time.Time
	// Key signs with another key (a forgery).
	Key *rsa.PrivateKey
	// EventID overrides the random notification id.
	EventID string
}

// WeChatV3Transaction builds a signed TRANSACTION.SUCCESS callback.
func (s *Sandbox) WeChatV3Transaction(t WeChatTransaction, opt WeChatV3Options) (http.Header, []byte, error) {
	return s.weChatV3("TRANSACTION.SUCCESS", "支付成功", "transaction", s.transactionResource(t), opt)
}

// WeChatV3Refund builds a signed REFUND.* callback.
func (s *Sandbox) WeChatV3Refund(r WeChatRefund, opt WeChatV3Options) (http.Header, []byte, error) {
	ev := "REFUND." + cmp.Or(r.Status, "SUCCESS")
	return s.weChatV3(ev, "退款状态变更", "refund", s.refundResource(r), opt)
}

func (s *Sandbox) weChatV3(eventType, summary, kind string, resource map[string]any, opt WeChatV3Options) (http.Header, []byte, error) {
	plain, err := json.Marshal(resource)
	if err != nil {
		return nil, nil, err
	}
	nonce := randAlnum(12)
	ct, err := wechatpay.EncryptGCM(s.apiv3Key, nonce, kind, plain)
	if err != nil {
		return nil, nil, err
	}
	at := opt.Timestamp
	if at.IsZero() {
		at = s.Now()
	}
	env := map[string]any{
		"id": cmp.Or(opt.EventID, uuid()), "create_time": at.In(payrecon.ShanghaiFixed).Format(time.RFC3339),
		"resource_type": "encrypt-resource", "event_type": eventType, "summary": summary,
		"resource": map[string]string{"original_type": kind, "algorithm": "AEAD_AES_256_GCM",
			"ciphertext": ct, "associated_data": kind, "nonce": nonce},
	}
	body, err := json.Marshal(env)
	if err != nil {
		return nil, nil, err
	}
	key, serial := s.wxPubKey, s.ID.WeChat.PublicKeyID
	if opt.ByCertificate {
		key, serial = s.wxPlatformKey, s.ID.WeChat.PlatformSerial
	}
	if opt.Key != nil {
		key = opt.Key
	}
	ts := strconv.FormatInt(at.Unix(), 10)
	wnonce := randAlnum(32)
	sig, err := wechatpay.SignSHA256(key, wechatpay.Message(ts, wnonce, body))
	if err != nil {
		return nil, nil, err
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(wechatpay.HeaderTimestamp, ts)
	h.Set(wechatpay.HeaderNonce, wnonce)
	h.Set(wechatpay.HeaderSignature, sig)
	h.Set(wechatpay.HeaderSerial, serial)
	h.Set("Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048")
	return h, body, nil
}

// WeChatV2Pay builds a signed APIv2 payment notification (signType MD5 or
// HMAC-SHA256).
func (s *Sandbox) WeChatV2Pay(t WeChatTransaction, signType string) ([]byte, error) {
	p := map[string]string{
		"return_code": "SUCCESS", "result_code": "SUCCESS", "appid": s.ID.WeChat.AppID, "mch_id": s.ID.WeChat.MchID,
		"nonce_str": randAlnum(32), "openid": "oSandbox" + randHex(10), "is_subscribe": "N", "trade_type": "JSAPI",
		"bank_type": "CFT", "total_fee": strconv.FormatInt(int64(t.Amount), 10), "fee_type": "CNY",
		"cash_fee": strconv.FormatInt(int64(t.Amount), 10), "transaction_id": t.TransactionID,
		"out_trade_no": t.OutTradeNo, "time_end": t.Paid.In(payrecon.ShanghaiFixed).Format("20060102150405"),
	}
	if signType == wechatpay.SignHMACSHA256 {
		p["sign_type"] = signType
	}
	sig, err := wechatpay.SignV2(p, s.apiv2Key, signType)
	if err != nil {
		return nil, err
	}
	p["sign"] = sig
	return xmlDoc("xml", p), nil
}

// WeChatV2Refund builds an APIv2 refund notification with encrypted req_info.
func (s *Sandbox) WeChatV2Refund(r WeChatRefund) []byte {
	inner := map[string]string{
		"out_refund_no": r.OutRefundNo, "out_trade_no": r.OutTradeNo, "refund_account": "REFUND_SOURCE_RECHARGE_FUNDS",
		"refund_fee": strconv.FormatInt(int64(r.Refund), 10), "refund_id": r.RefundID, "refund_recv_accout": "支付用户零钱",
		"refund_request_source": "API", "refund_status": cmp.Or(r.Status, "SUCCESS"),
		"settlement_refund_fee": strconv.FormatInt(int64(r.Refund), 10), "settlement_total_fee": strconv.FormatInt(int64(r.Total), 10),
		"success_time": r.At.In(payrecon.ShanghaiFixed).Format("2006-01-02 15:04:05"),
		"total_fee":    strconv.FormatInt(int64(r.Total), 10), "transaction_id": r.TransactionID,
	}
	outer := map[string]string{
		"return_code": "SUCCESS", "appid": s.ID.WeChat.AppID, "mch_id": s.ID.WeChat.MchID, "nonce_str": randAlnum(32),
		"req_info": wechatpay.EncryptReqInfo(s.apiv2Key, xmlDoc("root", inner)),
	}
	return xmlDoc("xml", outer)
}

func xmlDoc(root string, p map[string]string) []byte {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("<" + root + ">")
	for _, k := range keys {
		v := strings.ReplaceAll(p[k], "]]>", "]]]]><![CDATA[>")
		b.WriteString("<" + k + "><![CDATA[" + v + "]]></" + k + ">")
	}
	b.WriteString("</" + root + ">")
	return []byte(b.String())
}

func randDigits(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	return string(b)
}

func uuid() string {
	h := randHex(16)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

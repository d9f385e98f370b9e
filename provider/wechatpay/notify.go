// Package wechatpay speaks WeChat Pay for direct merchants: APIv3 callbacks
// (SHA256withRSA chosen by Wechatpay-Serial among platform certificates and
// the WeChat Pay public key, AEAD_AES_256_GCM resources) and legacy APIv2 XML
// callbacks (MD5 / HMAC-SHA256 signatures, AES-256-ECB refund req_info). See
// ../shared/protocols/wechatpay.md for the sources.
package wechatpay

import (
	"bytes"
	"crypto/rsa"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
)

// ProbePrefix marks WeChat Pay's deliberate signature-probe traffic, which
// must fail verification.
const ProbePrefix = "WECHATPAY/SIGNTEST/"

// MaxSkew is the largest accepted |now - Wechatpay-Timestamp|.
const MaxSkew = 5 * time.Minute

// The callback headers.
const (
	HeaderTimestamp = "Wechatpay-Timestamp"
	HeaderNonce     = "Wechatpay-Nonce"
	HeaderSignature = "Wechatpay-Signature"
	HeaderSerial    = "Wechatpay-Serial"
)

// Verifier checks callbacks for one WeChat Pay merchant.
type Verifier struct {
	Account string
	MchID   string
	// AppID and AppIDs are the merchant's apps; when either is set, a
	// callback for another app is rejected ([payrecon.ErrAccountMismatch]).
	AppID  string
	AppIDs []string
	// APIv3Key is the 32-byte APIv3 key.
	APIv3Key []byte
	// Keys maps a Wechatpay-Serial value (a platform certificate serial in
	// upper-case hex, or a PUB_KEY_ID_… id) to the key it names. Both kinds
	// may be present at once.
	Keys map[string]*rsa.PublicKey
	// APIv2Key enables legacy APIv2 XML callbacks when set.
	APIv2Key []byte
	// Now is the clock for the skew check.
	Now func() time.Time
}

// AppOK reports whether appid is one of the merchant's apps (any appid
// when none is configured).
func (v *Verifier) AppOK(appid string) bool {
	if v.AppID == "" && len(v.AppIDs) == 0 {
		return true
	}
	return appid != "" && (appid == v.AppID || slices.Contains(v.AppIDs, appid))
}

// Verify checks one callback and returns the event it carries. An XML body
// is an APIv2 callback; anything else is APIv3. Errors wrap the payrecon
// rejection sentinels.
func (v *Verifier) Verify(h http.Header, body []byte) (*payrecon.Notification, error) {
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) > 0 && t[0] == '<' {
		return v.verifyV2(body)
	}
	return v.verifyV3(h, body)
}

func (v *Verifier) verifyV3(h http.Header, body []byte) (*payrecon.Notification, error) {
	signedBy, err := v.CheckSignature(h, body)
	if err != nil {
		return nil, err
	}
	var env struct {
		ID        string `json:"id"`
		EventType string `json:"event_type"`
		Resource  struct {
			OriginalType   string `json:"original_type"`
			Algorithm      string `json:"algorithm"`
			Ciphertext     string `json:"ciphertext"`
			AssociatedData string `json:"associated_data"`
			Nonce          string `json:"nonce"`
		} `json:"resource"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("wechatpay: envelope: %w", payrecon.ErrMalformed)
	}
	if env.ID == "" || env.EventType == "" {
		return nil, fmt.Errorf("wechatpay: envelope needs id and event_type: %w", payrecon.ErrMalformed)
	}
	if env.Resource.Algorithm != "AEAD_AES_256_GCM" {
		return nil, fmt.Errorf("wechatpay: algorithm %q: %w", env.Resource.Algorithm, payrecon.ErrUnsupported)
	}
	pt, err := DecryptGCM(v.APIv3Key, env.Resource.Nonce, env.Resource.AssociatedData, env.Resource.Ciphertext)
	if err != nil {
		return nil, fmt.Errorf("wechatpay: %v: %w", err, payrecon.ErrDecrypt)
	}
	n := &payrecon.Notification{
		Account:   v.Account,
		Provider:  payrecon.WeChatPay,
		Protocol:  payrecon.ProtocolWeChatV3,
		DedupKey:  "v3|" + env.ID,
		EventType: env.EventType,
		SignedBy:  signedBy,
	}
	switch {
	case strings.HasPrefix(env.EventType, "TRANSACTION."):
		err = v.transactionEvent(pt, n)
	case strings.HasPrefix(env.EventType, "REFUND."):
		err = v.refundEvent(pt, n)
	default:
		n.Event.Kind = payrecon.EventOther
	}
	if err != nil {
		return nil, err
	}
	return n, nil
}

// CheckSignature verifies the Wechatpay-* headers over body, as WeChat Pay
// signs both callbacks and API responses: probes are rejected, the
// timestamp must be within MaxSkew of Now, and Wechatpay-Serial picks the
// key. It returns the name of the key that verified.
func (v *Verifier) CheckSignature(h http.Header, body []byte) (string, error) {
	ts, nonce, sig, serial := h.Get(HeaderTimestamp), h.Get(HeaderNonce), h.Get(HeaderSignature), h.Get(HeaderSerial)
	if strings.HasPrefix(sig, ProbePrefix) {
		return "", fmt.Errorf("wechatpay: %w", payrecon.ErrProbe)
	}
	if ts == "" || nonce == "" || sig == "" || serial == "" {
		return "", fmt.Errorf("wechatpay: missing Wechatpay-* headers: %w", payrecon.ErrBadSignature)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "", fmt.Errorf("wechatpay: Wechatpay-Timestamp %q: %w", ts, payrecon.ErrMalformed)
	}
	if d := v.Now().Sub(time.Unix(sec, 0)); d > MaxSkew || d < -MaxSkew {
		return "", fmt.Errorf("wechatpay: timestamp off by %s: %w", d.Round(time.Second), payrecon.ErrClockSkew)
	}
	msg := Message(ts, nonce, body)
	if k, ok := v.Keys[serial]; ok {
		if VerifySHA256(k, msg, sig) == nil {
			return serial, nil
		}
		return "", fmt.Errorf("wechatpay: serial %q: %w", serial, payrecon.ErrBadSignature)
	}
	// An unknown serial names a key we were not told about. Every key we
	// hold is a trusted WeChat Pay key, so try them all: a valid signature
	// by any of them is authentic. (A certificate's X.509 serial and the
	// serial WeChat Pay reports for it can differ.)
	for _, name := range sortedKeys(v.Keys) {
		if VerifySHA256(v.Keys[name], msg, sig) == nil {
			return name, nil
		}
	}
	return "", fmt.Errorf("wechatpay: serial %q: %w", serial, payrecon.ErrBadSignature)
}

// Transaction is the decrypted transaction resource (and the order query
// response).
type Transaction struct {
	AppID         string `json:"appid"`
	MchID         string `json:"mchid"`
	OutTradeNo    string `json:"out_trade_no"`
	TransactionID string `json:"transaction_id"`
	TradeType     string `json:"trade_type"`
	TradeState    string `json:"trade_state"`
	SuccessTime   string `json:"success_time"`
	Amount        struct {
		Total      *int64 `json:"total"`
		PayerTotal int64  `json:"payer_total"`
		Currency   string `json:"currency"`
	} `json:"amount"`
}

func (v *Verifier) transactionEvent(pt []byte, n *payrecon.Notification) error {
	var t Transaction
	if err := json.Unmarshal(pt, &t); err != nil {
		return fmt.Errorf("wechatpay: transaction: %w", payrecon.ErrMalformed)
	}
	return v.transactionEventFrom(t, n)
}

// transactionEventFrom maps a transaction (callback resource or order
// query response) to its ledger event, checking the merchant.
func (v *Verifier) transactionEventFrom(t Transaction, n *payrecon.Notification) error {
	if t.MchID != v.MchID || !v.AppOK(t.AppID) {
		return fmt.Errorf("wechatpay: mchid %q appid %q: %w", t.MchID, t.AppID, payrecon.ErrAccountMismatch)
	}
	if t.OutTradeNo == "" || t.Amount.Total == nil || *t.Amount.Total < 0 {
		return fmt.Errorf("wechatpay: transaction needs out_trade_no and amount.total: %w", payrecon.ErrMalformed)
	}
	ev := &n.Event
	ev.OutTradeNo, ev.ProviderTradeNo = t.OutTradeNo, t.TransactionID
	ev.AmountFen, ev.HasAmount = payrecon.Fen(*t.Amount.Total), true
	switch t.TradeState {
	case "SUCCESS", "REFUND":
		if t.TransactionID == "" {
			return fmt.Errorf("wechatpay: paid transaction without transaction_id: %w", payrecon.ErrMalformed)
		}
		at, err := parseRFC3339(t.SuccessTime)
		if err != nil {
			return err
		}
		ev.Kind, ev.Status, ev.PaidAt = payrecon.EventPayment, payrecon.StatusPaid, at
	case "CLOSED", "REVOKED", "PAYERROR":
		ev.Kind, ev.Status = payrecon.EventClose, payrecon.StatusClosed
	case "NOTPAY", "USERPAYING":
		ev.Kind, ev.Status = payrecon.EventPending, payrecon.StatusPending
	default:
		return fmt.Errorf("wechatpay: trade_state %q: %w", t.TradeState, payrecon.ErrUnsupported)
	}
	return nil
}

type refundResource struct {
	MchID         string `json:"mchid"`
	OutTradeNo    string `json:"out_trade_no"`
	TransactionID string `json:"transaction_id"`
	OutRefundNo   string `json:"out_refund_no"`
	RefundID      string `json:"refund_id"`
	RefundStatus  string `json:"refund_status"`
	SuccessTime   string `json:"success_time"`
	Amount        struct {
		Total  *int64 `json:"total"`
		Refund *int64 `json:"refund"`
	} `json:"amount"`
}

func (v *Verifier) refundEvent(pt []byte, n *payrecon.Notification) error {
	var r refundResource
	if err := json.Unmarshal(pt, &r); err != nil {
		return fmt.Errorf("wechatpay: refund: %w", payrecon.ErrMalformed)
	}
	if r.MchID != v.MchID {
		return fmt.Errorf("wechatpay: mchid %q: %w", r.MchID, payrecon.ErrAccountMismatch)
	}
	if r.OutTradeNo == "" || r.OutRefundNo == "" || r.Amount.Refund == nil || *r.Amount.Refund < 0 {
		return fmt.Errorf("wechatpay: refund needs out_trade_no, out_refund_no and amount.refund: %w", payrecon.ErrMalformed)
	}
	at, err := parseRFC3339(r.SuccessTime)
	if err != nil {
		return err
	}
	status := payrecon.RefundStatus(r.RefundStatus)
	switch status {
	case payrecon.RefundSuccess, payrecon.RefundAbnormal, payrecon.RefundClosed, payrecon.RefundProcessing:
	default:
		return fmt.Errorf("wechatpay: refund_status %q: %w", r.RefundStatus, payrecon.ErrUnsupported)
	}
	ev := &n.Event
	ev.Kind = payrecon.EventRefund
	ev.Status = payrecon.StatusPaid
	ev.OutTradeNo, ev.ProviderTradeNo = r.OutTradeNo, r.TransactionID
	if r.Amount.Total != nil {
		ev.AmountFen, ev.HasAmount = payrecon.Fen(*r.Amount.Total), true
	}
	ev.Refund = &payrecon.Refund{
		OutRefundNo: r.OutRefundNo, ProviderRefundNo: r.RefundID,
		AmountFen: payrecon.Fen(*r.Amount.Refund), Status: status, RefundedAt: at,
	}
	return nil
}

func (v *Verifier) verifyV2(body []byte) (*payrecon.Notification, error) {
	if len(v.APIv2Key) == 0 {
		return nil, fmt.Errorf("wechatpay: APIv2 callback but no apiv2_key_file configured: %w", payrecon.ErrUnsupported)
	}
	p, err := ParseXML(body)
	if err != nil {
		return nil, fmt.Errorf("wechatpay: %v: %w", err, payrecon.ErrMalformed)
	}
	n := &payrecon.Notification{Account: v.Account, Provider: payrecon.WeChatPay, Protocol: payrecon.ProtocolWeChatV2}
	if ri := p["req_info"]; ri != "" {
		// Refund notification: no sign; authenticity comes from the key.
		if p["mch_id"] != v.MchID || !v.AppOK(p["appid"]) {
			return nil, fmt.Errorf("wechatpay: mch_id %q appid %q: %w", p["mch_id"], p["appid"], payrecon.ErrAccountMismatch)
		}
		pt, err := DecryptReqInfo(v.APIv2Key, ri)
		if err != nil {
			return nil, fmt.Errorf("wechatpay: req_info: %v: %w", err, payrecon.ErrDecrypt)
		}
		r, err := ParseXML(pt)
		if err != nil {
			return nil, fmt.Errorf("wechatpay: req_info: %w", payrecon.ErrDecrypt)
		}
		return n, v2RefundEvent(r, n)
	}
	if err := verifyV2(p, v.APIv2Key); err != nil {
		return nil, fmt.Errorf("wechatpay: v2: %v: %w", err, payrecon.ErrBadSignature)
	}
	if p["mch_id"] != v.MchID || !v.AppOK(p["appid"]) {
		return nil, fmt.Errorf("wechatpay: mch_id %q appid %q: %w", p["mch_id"], p["appid"], payrecon.ErrAccountMismatch)
	}
	if p["return_code"] != "SUCCESS" || p["result_code"] != "SUCCESS" {
		n.EventType = "v2:" + p["return_code"] + "/" + p["result_code"]
		n.Event.Kind = payrecon.EventOther
		n.Event.OutTradeNo = p["out_trade_no"]
		n.DedupKey = "v2other|" + p["nonce_str"] + "|" + p["sign"]
		return n, nil
	}
	total, err := atoi64(p["total_fee"])
	if err != nil || total < 0 || p["out_trade_no"] == "" || p["transaction_id"] == "" {
		return nil, fmt.Errorf("wechatpay: v2 pay needs out_trade_no, transaction_id, total_fee: %w", payrecon.ErrMalformed)
	}
	at, err := parseCompact(p["time_end"])
	if err != nil {
		return nil, err
	}
	n.EventType = "v2:PAY.SUCCESS"
	n.DedupKey = "v2pay|" + p["transaction_id"]
	n.Event = payrecon.Event{
		Kind: payrecon.EventPayment, Status: payrecon.StatusPaid,
		OutTradeNo: p["out_trade_no"], ProviderTradeNo: p["transaction_id"],
		AmountFen: payrecon.Fen(total), HasAmount: true, PaidAt: at,
	}
	return n, nil
}

func v2RefundEvent(r map[string]string, n *payrecon.Notification) error {
	refund, err := atoi64(r["refund_fee"])
	if err != nil || refund < 0 || r["out_trade_no"] == "" || r["out_refund_no"] == "" {
		return fmt.Errorf("wechatpay: v2 refund needs out_trade_no, out_refund_no, refund_fee: %w", payrecon.ErrMalformed)
	}
	status := payrecon.RefundStatus(r["refund_status"])
	switch status {
	case payrecon.RefundSuccess, payrecon.RefundAbnormal, payrecon.RefundClosed:
	case "REFUNDCLOSE":
		status = payrecon.RefundClosed
	case "CHANGE":
		status = payrecon.RefundAbnormal
	default:
		return fmt.Errorf("wechatpay: v2 refund_status %q: %w", r["refund_status"], payrecon.ErrUnsupported)
	}
	var at time.Time
	if s := r["success_time"]; s != "" {
		t, err := time.ParseInLocation("2006-01-02 15:04:05", s, payrecon.ShanghaiFixed)
		if err != nil {
			return fmt.Errorf("wechatpay: success_time: %w", payrecon.ErrMalformed)
		}
		at = t.UTC()
	}
	n.EventType = "v2:REFUND." + string(status)
	n.DedupKey = "v2refund|" + r["out_refund_no"] + "|" + string(status)
	ev := &n.Event
	ev.Kind, ev.Status = payrecon.EventRefund, payrecon.StatusPaid
	ev.OutTradeNo, ev.ProviderTradeNo = r["out_trade_no"], r["transaction_id"]
	if total, err := atoi64(r["total_fee"]); err == nil && total >= 0 {
		ev.AmountFen, ev.HasAmount = payrecon.Fen(total), true
	}
	ev.Refund = &payrecon.Refund{
		OutRefundNo: r["out_refund_no"], ProviderRefundNo: r["refund_id"],
		AmountFen: payrecon.Fen(refund), Status: status, RefundedAt: at,
	}
	return nil
}

// ParseXML reads a flat APIv2 XML document (<xml> or <root> with one level
// of children, CDATA or plain text) into a map. Nested elements, repeated
// children and trailing content are errors.
func ParseXML(b []byte) (map[string]string, error) {
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	out := map[string]string{}
	depth := 0
	var key string
	var val strings.Builder
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("xml: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch depth {
			case 1:
				if len(out) > 0 {
					return nil, errors.New("xml: more than one root")
				}
			case 2:
				key = t.Name.Local
				val.Reset()
			default:
				return nil, errors.New("xml: nested element")
			}
		case xml.EndElement:
			if depth == 2 {
				if _, dup := out[key]; dup {
					return nil, fmt.Errorf("xml: element %q repeated", key)
				}
				out[key] = strings.TrimSpace(val.String())
			}
			depth--
		case xml.CharData:
			if depth == 2 {
				val.Write(t)
			}
		case xml.Directive:
			return nil, errors.New("xml: directives not allowed")
		}
	}
	if depth != 0 {
		return nil, errors.New("xml: unbalanced")
	}
	return out, nil
}

// parseRFC3339 parses WeChat Pay's "2021-01-28T17:07:11+08:00" and returns
// UTC; empty is the zero time.
func parseRFC3339(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("wechatpay: time %q: %w", s, payrecon.ErrMalformed)
	}
	return t.UTC(), nil
}

func parseCompact(s string) (time.Time, error) {
	t, err := time.ParseInLocation("20060102150405", s, payrecon.ShanghaiFixed)
	if err != nil {
		return time.Time{}, fmt.Errorf("wechatpay: time_end %q: %w", s, payrecon.ErrMalformed)
	}
	return t.UTC(), nil
}

func sortedKeys(m map[string]*rsa.PublicKey) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Replies. APIv3: the status decides (2xx received, 4xx/5xx retry) and a
// failure carries {"code":"FAIL","message":…}. APIv2: the XML body decides.
const (
	ReplyV2Success = `<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>`
)

// ReplyV3Failure returns the APIv3 failure body with message (1–64 runes).
func ReplyV3Failure(message string) []byte {
	if r := []rune(message); len(r) > 64 {
		message = string(r[:64])
	}
	b, _ := json.Marshal(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{"FAIL", message})
	return b
}

// ReplyV2Failure returns the APIv2 failure XML with message.
func ReplyV2Failure(message string) []byte {
	var b bytes.Buffer
	b.WriteString("<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[")
	b.WriteString(strings.ReplaceAll(message, "]]>", "]] >"))
	b.WriteString("]]></return_msg></xml>")
	return b.Bytes()
}

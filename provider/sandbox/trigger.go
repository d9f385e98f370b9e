package sandbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider/alipay"
	"github.com/payrecon/payrecon/provider/wechatpay"
)

// Delivery is one HTTP request to payrecon's intake and what it must get.
type Delivery struct {
	Name     string
	Account  string
	Method   string
	Header   http.Header
	Body     []byte
	Protocol payrecon.Protocol // how to read the reply
	// WantAccepted says whether payrecon must acknowledge it. A rejected
	// delivery must get the provider's failure reply and WantReason in
	// quarantine.
	WantAccepted bool
	WantReason   string
}

// Expectation is the ledger state a scenario must leave. An empty Status
// means the trade must not exist.
type Expectation struct {
	Account     string
	OutTradeNo  string
	Status      payrecon.TradeStatus
	AmountFen   payrecon.Fen
	RefundedFen payrecon.Fen
}

// Scenario is a named set of deliveries. Steps run in order; the
// deliveries of one step are sent concurrently (parallel redeliveries).
type Scenario struct {
	Name   string
	Steps  [][]Delivery
	Expect []Expectation
}

type scenarioFunc func(s *Sandbox, run string) (Scenario, error)

var scenarios = map[string]scenarioFunc{
	"alipay-payment":            alipayPayment,
	"alipay-partial-refund":     alipayPartialRefund,
	"alipay-full-refund":        alipayFullRefund,
	"alipay-close":              alipayClose,
	"alipay-gbk":                alipayGBK,
	"alipay-rsa":                alipayLegacyRSA,
	"alipay-transfer":           alipayTransfer,
	"wechatpay-payment":         wxPayment,
	"wechatpay-payment-cert":    wxPaymentCert,
	"wechatpay-refund":          wxRefund,
	"wechatpay-refund-abnormal": wxRefundAbnormal,
	"wechatpay-refund-closed":   wxRefundClosed,
	"wechatpay-v2":              wxV2,
	"wechatpay-other-app":       wxOtherApp,
	"duplicate":                 duplicate,
	"out-of-order":              outOfOrder,
	"tampered":                  tampered,
	"bad-signature":             badSignature,
	"probe":                     probe,
	"clock-skew":                clockSkew,
	"wrong-merchant":            wrongMerchant,
	"unknown-account":           unknownAccount,
	"oversize":                  oversize,
	"wrong-method":              wrongMethod,
	"malformed":                 malformed,
}

// ScenarioNames lists every scenario, sorted.
func ScenarioNames() []string {
	names := make([]string, 0, len(scenarios))
	for n := range scenarios {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Build returns the named scenarios (all when names is empty) with fresh
// trade numbers.
func (s *Sandbox) Build(names []string) ([]Scenario, error) {
	if len(names) == 0 {
		names = ScenarioNames()
	}
	run := s.Now().In(payrecon.ShanghaiFixed).Format("0102150405") + randDigits(4)
	var out []Scenario
	for _, n := range names {
		f, ok := scenarios[n]
		if !ok {
			return nil, fmt.Errorf("unknown scenario %q (have %s)", n, strings.Join(ScenarioNames(), ", "))
		}
		sc, err := f(s, run)
		if err != nil {
			return nil, fmt.Errorf("scenario %s: %w", n, err)
		}
		sc.Name = n
		out = append(out, sc)
	}
	return out, nil
}

// Result counts what a Fire did.
type Result struct {
	Sent, Accepted, Rejected int
	// Unexpected lists deliveries whose reply was not the expected one.
	Unexpected []string
	Expect     []Expectation
}

// Fire sends the scenarios to the payrecon at baseURL and checks each reply
// against the provider's acknowledgement format. It writes one line per
// delivery to out.
func Fire(ctx context.Context, client *http.Client, baseURL string, scs []Scenario, out io.Writer) (Result, error) {
	var res Result
	var mu sync.Mutex
	for _, sc := range scs {
		res.Expect = append(res.Expect, sc.Expect...)
		for _, step := range sc.Steps {
			var wg sync.WaitGroup
			for _, d := range step {
				wg.Add(1)
				go func() {
					defer wg.Done()
					accepted, detail, err := send(ctx, client, baseURL, d)
					mu.Lock()
					defer mu.Unlock()
					res.Sent++
					verdict := "ok  "
					switch {
					case err != nil:
						verdict = "ERR "
						res.Unexpected = append(res.Unexpected, fmt.Sprintf("%s/%s: %v", sc.Name, d.Name, err))
					case accepted != d.WantAccepted:
						verdict = "BAD "
						res.Unexpected = append(res.Unexpected, fmt.Sprintf("%s/%s: accepted=%v, want %v (%s)", sc.Name, d.Name, accepted, d.WantAccepted, detail))
					}
					if accepted {
						res.Accepted++
					} else {
						res.Rejected++
					}
					fmt.Fprintf(out, "%s %-26s %-34s -> %s\n", verdict, sc.Name, d.Name, detail)
				}()
			}
			wg.Wait()
		}
	}
	if len(res.Unexpected) > 0 {
		return res, fmt.Errorf("%d of %d replies were not as expected", len(res.Unexpected), res.Sent)
	}
	return res, nil
}

// send posts one delivery and interprets the reply by the provider's rules.
func send(ctx context.Context, client *http.Client, baseURL string, d Delivery) (accepted bool, detail string, err error) {
	method := d.Method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(baseURL, "/")+"/notify/"+url.PathEscape(d.Account), bytes.NewReader(d.Body))
	if err != nil {
		return false, "", err
	}
	for k, v := range d.Header {
		req.Header[k] = v
	}
	if req.Header.Get("Content-Type") == "" && d.Protocol == payrecon.ProtocolAlipay {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return false, "", err
	}
	return Accepted(d.Protocol, resp.StatusCode, body)
}

// Accepted reads a reply as the provider would: Alipay wants the bare body
// "success"; WeChat Pay v3 wants a 2xx (failures must be 4xx/5xx with
// {"code":"FAIL"}); v2 wants XML return_code SUCCESS.
func Accepted(protocol payrecon.Protocol, status int, body []byte) (bool, string, error) {
	switch protocol {
	case payrecon.ProtocolAlipay, payrecon.ProtocolAlipayGateway:
		if string(body) == alipay.ReplySuccess {
			return true, fmt.Sprintf("%d success", status), nil
		}
		return false, fmt.Sprintf("%d %s", status, body), nil
	case payrecon.ProtocolWeChatV2:
		var r struct {
			ReturnCode string `xml:"return_code"`
			ReturnMsg  string `xml:"return_msg"`
		}
		if err := xml.Unmarshal(body, &r); err != nil {
			return false, "", fmt.Errorf("v2 reply is not XML: %q", body)
		}
		return r.ReturnCode == "SUCCESS", fmt.Sprintf("%d %s %s", status, r.ReturnCode, r.ReturnMsg), nil
	default:
		if status >= 200 && status < 300 {
			return true, fmt.Sprintf("%d", status), nil
		}
		var r struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(body, &r); err != nil || r.Code != "FAIL" || r.Message == "" {
			return false, "", fmt.Errorf("v3 failure reply %d is not {\"code\":\"FAIL\",…}: %q", status, body)
		}
		return false, fmt.Sprintf("%d FAIL %s", status, r.Message), nil
	}
}

// --- scenario helpers

func (s *Sandbox) ali(name string, t AlipayTrade, opt AlipayOptions) (Delivery, error) {
	body, err := s.SignAlipay(s.AlipayTradeParams(t), opt)
	return Delivery{Name: name, Account: s.ID.Alipay.Account, Body: body, Protocol: payrecon.ProtocolAlipay, WantAccepted: true}, err
}

func (s *Sandbox) wxPay(name string, t WeChatTransaction, opt WeChatV3Options) (Delivery, error) {
	h, body, err := s.WeChatV3Transaction(t, opt)
	return Delivery{Name: name, Account: s.ID.WeChat.Account, Header: h, Body: body, Protocol: payrecon.ProtocolWeChatV3, WantAccepted: true}, err
}

func (s *Sandbox) wxRefund(name string, r WeChatRefund, opt WeChatV3Options) (Delivery, error) {
	h, body, err := s.WeChatV3Refund(r, opt)
	return Delivery{Name: name, Account: s.ID.WeChat.Account, Header: h, Body: body, Protocol: payrecon.ProtocolWeChatV3, WantAccepted: true}, err
}

func reject(d Delivery, reason string) Delivery {
	d.WantAccepted, d.WantReason = false, reason
	return d
}

// steps turns deliveries into sequential single-delivery steps, stopping
// at the first build error.
func steps(ds []Delivery, errs ...error) ([][]Delivery, error) {
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	out := make([][]Delivery, len(ds))
	for i, d := range ds {
		out[i] = []Delivery{d}
	}
	return out, nil
}

func (s *Sandbox) aliTrade(run, suffix string, amt payrecon.Fen) AlipayTrade {
	paid := s.Now().Add(-time.Minute)
	return AlipayTrade{OutTradeNo: "A" + run + suffix, TradeNo: "2026" + randDigits(24), Amount: amt, Status: "TRADE_SUCCESS", Paid: paid}
}

func (s *Sandbox) wxTrade(run, suffix string, amt payrecon.Fen) WeChatTransaction {
	return WeChatTransaction{OutTradeNo: "W" + run + suffix, TransactionID: "4200" + randDigits(24), Amount: amt, Paid: s.Now().Add(-time.Minute)}
}

func (s *Sandbox) aliAcct() string { return s.ID.Alipay.Account }
func (s *Sandbox) wxAcct() string  { return s.ID.WeChat.Account }

func otherKey() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) }

// --- the scenarios

func alipayPayment(s *Sandbox, run string) (Scenario, error) {
	t := s.aliTrade(run, "01", 12345)
	d, err := s.ali("TRADE_SUCCESS", t, AlipayOptions{})
	st, err := steps([]Delivery{d}, err)
	return Scenario{Steps: st, Expect: []Expectation{{s.aliAcct(), t.OutTradeNo, payrecon.StatusPaid, 12345, 0}}}, err
}

func alipayPartialRefund(s *Sandbox, run string) (Scenario, error) {
	t := s.aliTrade(run, "02", 10000)
	pay, e1 := s.ali("TRADE_SUCCESS", t, AlipayOptions{})
	r1 := t
	r1.RefundTotal, r1.OutBizNo, r1.Refunded = 3000, t.OutTradeNo+"-R1", s.Now()
	d1, e2 := s.ali("refund 30.00 (TRADE_SUCCESS)", r1, AlipayOptions{})
	r2 := r1
	r2.RefundTotal, r2.OutBizNo, r2.Refunded = 5000, t.OutTradeNo+"-R2", s.Now().Add(time.Second)
	d2, e3 := s.ali("refund 20.00 (total 50.00)", r2, AlipayOptions{})
	st, err := steps([]Delivery{pay, d1, d2}, e1, e2, e3)
	return Scenario{Steps: st, Expect: []Expectation{{s.aliAcct(), t.OutTradeNo, payrecon.StatusPaid, 10000, 5000}}}, err
}

func alipayFullRefund(s *Sandbox, run string) (Scenario, error) {
	t := s.aliTrade(run, "03", 880)
	pay, e1 := s.ali("TRADE_SUCCESS", t, AlipayOptions{})
	r := t
	r.Status, r.RefundTotal, r.OutBizNo, r.Refunded = "TRADE_CLOSED", 880, t.OutTradeNo+"-R1", s.Now()
	d, e2 := s.ali("TRADE_CLOSED full refund", r, AlipayOptions{})
	st, err := steps([]Delivery{pay, d}, e1, e2)
	return Scenario{Steps: st, Expect: []Expectation{{s.aliAcct(), t.OutTradeNo, payrecon.StatusRefunded, 880, 880}}}, err
}

func alipayClose(s *Sandbox, run string) (Scenario, error) {
	t := s.aliTrade(run, "04", 500)
	t.Status, t.Paid, t.Created = "TRADE_CLOSED", time.Time{}, s.Now().Add(-30*time.Minute)
	d, err := s.ali("TRADE_CLOSED unpaid", t, AlipayOptions{})
	st, err := steps([]Delivery{d}, err)
	return Scenario{Steps: st, Expect: []Expectation{{s.aliAcct(), t.OutTradeNo, payrecon.StatusClosed, 500, 0}}}, err
}

func alipayGBK(s *Sandbox, run string) (Scenario, error) {
	t := s.aliTrade(run, "05", 2000)
	t.Subject = "中文商品 测试+空格 %41"
	d, err := s.ali("TRADE_SUCCESS charset=GBK", t, AlipayOptions{GBK: true})
	st, err := steps([]Delivery{d}, err)
	return Scenario{Steps: st, Expect: []Expectation{{s.aliAcct(), t.OutTradeNo, payrecon.StatusPaid, 2000, 0}}}, err
}

func alipayLegacyRSA(s *Sandbox, run string) (Scenario, error) {
	t := s.aliTrade(run, "06", 1)
	t.Status = "TRADE_FINISHED"
	d, err := s.ali("TRADE_FINISHED sign_type=RSA", t, AlipayOptions{SignType: alipay.RSA})
	st, err := steps([]Delivery{d}, err)
	return Scenario{Steps: st, Expect: []Expectation{{s.aliAcct(), t.OutTradeNo, payrecon.StatusPaid, 1, 0}}}, err
}

func alipayTransfer(s *Sandbox, run string) (Scenario, error) {
	body, err := s.SignAlipay(s.AlipayTransferParams("T"+run+"07", 66600, "SUCCESS", s.Now()), AlipayOptions{})
	st, err := steps([]Delivery{{Name: "fund.trans.order.changed SUCCESS", Account: s.aliAcct(), Body: body, Protocol: payrecon.ProtocolAlipay, WantAccepted: true}}, err)
	return Scenario{Steps: st}, err
}

func wxPayment(s *Sandbox, run string) (Scenario, error) {
	t := s.wxTrade(run, "01", 4200)
	d, err := s.wxPay("TRANSACTION.SUCCESS (public key)", t, WeChatV3Options{})
	st, err := steps([]Delivery{d}, err)
	return Scenario{Steps: st, Expect: []Expectation{{s.wxAcct(), t.OutTradeNo, payrecon.StatusPaid, 4200, 0}}}, err
}

// wxOtherApp: one merchant number serves several apps. A callback for
// another of the merchant's apps is accepted; one for an app that is not
// the merchant's is quarantined.
func wxOtherApp(s *Sandbox, run string) (Scenario, error) {
	if len(s.ID.WeChat.AppIDs) == 0 {
		return Scenario{}, fmt.Errorf("wechatpay-other-app: the sandbox merchant has no further appids")
	}
	t := s.wxTrade(run, "21", 4400)
	t.AppID = s.ID.WeChat.AppIDs[0]
	d, e1 := s.wxPay("TRANSACTION.SUCCESS from the merchant's second app", t, WeChatV3Options{})
	x := s.wxTrade(run, "22", 4500)
	x.AppID = "wx9999999999999999"
	y, e2 := s.wxPay("validly signed, an appid not the merchant's", x, WeChatV3Options{})
	st, err := steps([]Delivery{d, reject(y, "account_mismatch")}, e1, e2)
	return Scenario{Steps: st, Expect: []Expectation{{s.wxAcct(), t.OutTradeNo, payrecon.StatusPaid, 4400, 0}, {Account: s.wxAcct(), OutTradeNo: x.OutTradeNo}}}, err
}

func wxPaymentCert(s *Sandbox, run string) (Scenario, error) {
	t := s.wxTrade(run, "02", 4300)
	d, err := s.wxPay("TRANSACTION.SUCCESS (platform cert)", t, WeChatV3Options{ByCertificate: true})
	st, err := steps([]Delivery{d}, err)
	return Scenario{Steps: st, Expect: []Expectation{{s.wxAcct(), t.OutTradeNo, payrecon.StatusPaid, 4300, 0}}}, err
}

func (s *Sandbox) refundOf(t WeChatTransaction, n string, amt payrecon.Fen, status string) WeChatRefund {
	return WeChatRefund{OutTradeNo: t.OutTradeNo, TransactionID: t.TransactionID, OutRefundNo: t.OutTradeNo + "-" + n,
		RefundID: "5030" + randDigits(25), Total: t.Amount, Refund: amt, Status: status, At: s.Now()}
}

func wxRefund(s *Sandbox, run string) (Scenario, error) {
	t := s.wxTrade(run, "03", 990)
	pay, e1 := s.wxPay("TRANSACTION.SUCCESS", t, WeChatV3Options{})
	r, e2 := s.wxRefund("REFUND.SUCCESS full", s.refundOf(t, "R1", 990, "SUCCESS"), WeChatV3Options{})
	st, err := steps([]Delivery{pay, r}, e1, e2)
	return Scenario{Steps: st, Expect: []Expectation{{s.wxAcct(), t.OutTradeNo, payrecon.StatusRefunded, 990, 990}}}, err
}

func wxRefundAbnormal(s *Sandbox, run string) (Scenario, error) {
	t := s.wxTrade(run, "04", 1000)
	pay, e1 := s.wxPay("TRANSACTION.SUCCESS", t, WeChatV3Options{})
	ab, e2 := s.wxRefund("REFUND.ABNORMAL", s.refundOf(t, "R1", 400, "ABNORMAL"), WeChatV3Options{})
	ok, e3 := s.wxRefund("REFUND.SUCCESS after ABNORMAL", s.refundOf(t, "R1", 400, "SUCCESS"), WeChatV3Options{})
	st, err := steps([]Delivery{pay, ab, ok}, e1, e2, e3)
	return Scenario{Steps: st, Expect: []Expectation{{s.wxAcct(), t.OutTradeNo, payrecon.StatusPaid, 1000, 400}}}, err
}

func wxRefundClosed(s *Sandbox, run string) (Scenario, error) {
	t := s.wxTrade(run, "05", 1000)
	pay, e1 := s.wxPay("TRANSACTION.SUCCESS", t, WeChatV3Options{})
	cl, e2 := s.wxRefund("REFUND.CLOSED", s.refundOf(t, "R1", 1000, "CLOSED"), WeChatV3Options{})
	st, err := steps([]Delivery{pay, cl}, e1, e2)
	return Scenario{Steps: st, Expect: []Expectation{{s.wxAcct(), t.OutTradeNo, payrecon.StatusPaid, 1000, 0}}}, err
}

func wxV2(s *Sandbox, run string) (Scenario, error) {
	t1 := s.wxTrade(run, "06", 100)
	t2 := s.wxTrade(run, "07", 200)
	b1, e1 := s.WeChatV2Pay(t1, wechatpay.SignMD5)
	b2, e2 := s.WeChatV2Pay(t2, wechatpay.SignHMACSHA256)
	rf := s.WeChatV2Refund(s.refundOf(t2, "R1", 200, "SUCCESS"))
	v2 := func(name string, b []byte) Delivery {
		return Delivery{Name: name, Account: s.wxAcct(), Body: b, Protocol: payrecon.ProtocolWeChatV2, WantAccepted: true,
			Header: http.Header{"Content-Type": {"text/xml"}}}
	}
	st, err := steps([]Delivery{v2("v2 pay MD5", b1), v2("v2 pay HMAC-SHA256", b2), v2("v2 refund req_info", rf)}, e1, e2)
	return Scenario{Steps: st, Expect: []Expectation{
		{s.wxAcct(), t1.OutTradeNo, payrecon.StatusPaid, 100, 0},
		{s.wxAcct(), t2.OutTradeNo, payrecon.StatusRefunded, 200, 200},
	}}, err
}

func duplicate(s *Sandbox, run string) (Scenario, error) {
	t := s.aliTrade(run, "11", 777)
	a, e1 := s.ali("TRADE_SUCCESS", t, AlipayOptions{})
	w := s.wxTrade(run, "11", 778)
	x, e2 := s.wxPay("TRANSACTION.SUCCESS", w, WeChatV3Options{})
	if err := firstErr(e1, e2); err != nil {
		return Scenario{}, err
	}
	a2, x2 := a, x
	a2.Name, x2.Name = "TRADE_SUCCESS retry", "TRANSACTION.SUCCESS parallel copy"
	// Alipay retries one after another; WeChat Pay's parallel links deliver
	// copies at the same moment.
	return Scenario{
		Steps: [][]Delivery{{a}, {a2}, {a2}, {x, x2, x2, x2, x2}},
		Expect: []Expectation{
			{s.aliAcct(), t.OutTradeNo, payrecon.StatusPaid, 777, 0},
			{s.wxAcct(), w.OutTradeNo, payrecon.StatusPaid, 778, 0},
		},
	}, nil
}

func outOfOrder(s *Sandbox, run string) (Scenario, error) {
	t := s.aliTrade(run, "12", 3000)
	r := t
	r.Status, r.RefundTotal, r.OutBizNo, r.Refunded = "TRADE_CLOSED", 3000, t.OutTradeNo+"-R1", s.Now()
	closeFirst, e1 := s.ali("TRADE_CLOSED (refund) first", r, AlipayOptions{})
	payLate, e2 := s.ali("TRADE_SUCCESS late", t, AlipayOptions{})
	w := s.wxTrade(run, "12", 1500)
	rf, e3 := s.wxRefund("REFUND.SUCCESS before payment", s.refundOf(w, "R1", 500, "SUCCESS"), WeChatV3Options{})
	pay, e4 := s.wxPay("TRANSACTION.SUCCESS late", w, WeChatV3Options{})
	st, err := steps([]Delivery{closeFirst, payLate, rf, pay}, e1, e2, e3, e4)
	return Scenario{Steps: st, Expect: []Expectation{
		{s.aliAcct(), t.OutTradeNo, payrecon.StatusRefunded, 3000, 3000},
		{s.wxAcct(), w.OutTradeNo, payrecon.StatusPaid, 1500, 500},
	}}, err
}

func tampered(s *Sandbox, run string) (Scenario, error) {
	t := s.aliTrade(run, "13", 100)
	a, e1 := s.ali("total_amount 1.00 -> 9999.00", t, AlipayOptions{})
	w := s.wxTrade(run, "13", 100)
	x, e2 := s.wxPay("one body byte changed", w, WeChatV3Options{})
	if err := firstErr(e1, e2); err != nil {
		return Scenario{}, err
	}
	a.Body = bytes.Replace(a.Body, []byte("total_amount=1.00"), []byte("total_amount=9999.00"), 1)
	x.Body = bytes.Replace(x.Body, []byte(`"summary":"`), []byte(`"summary":"X`), 1)
	return Scenario{
		Steps:  [][]Delivery{{reject(a, "bad_signature")}, {reject(x, "bad_signature")}},
		Expect: []Expectation{{Account: s.aliAcct(), OutTradeNo: t.OutTradeNo}, {Account: s.wxAcct(), OutTradeNo: w.OutTradeNo}},
	}, nil
}

func badSignature(s *Sandbox, run string) (Scenario, error) {
	k, err := otherKey()
	if err != nil {
		return Scenario{}, err
	}
	t := s.aliTrade(run, "14", 100)
	a, e1 := s.ali("signed by a foreign key", t, AlipayOptions{Key: k})
	w := s.wxTrade(run, "14", 100)
	x, e2 := s.wxPay("signed by a foreign key", w, WeChatV3Options{Key: k})
	st, err := steps([]Delivery{reject(a, "bad_signature"), reject(x, "bad_signature")}, e1, e2)
	return Scenario{Steps: st, Expect: []Expectation{{Account: s.aliAcct(), OutTradeNo: t.OutTradeNo}, {Account: s.wxAcct(), OutTradeNo: w.OutTradeNo}}}, err
}

func probe(s *Sandbox, run string) (Scenario, error) {
	w := s.wxTrade(run, "15", 100)
	x, err := s.wxPay("WECHATPAY/SIGNTEST/ probe", w, WeChatV3Options{})
	if err != nil {
		return Scenario{}, err
	}
	x.Header = x.Header.Clone()
	x.Header.Set(wechatpay.HeaderSignature, wechatpay.ProbePrefix+x.Header.Get(wechatpay.HeaderSignature))
	return Scenario{Steps: [][]Delivery{{reject(x, "probe")}}, Expect: []Expectation{{Account: s.wxAcct(), OutTradeNo: w.OutTradeNo}}}, nil
}

func clockSkew(s *Sandbox, run string) (Scenario, error) {
	w := s.wxTrade(run, "16", 100)
	x, err := s.wxPay("timestamp 10 minutes old", w, WeChatV3Options{Timestamp: s.Now().Add(-10 * time.Minute)})
	st, err := steps([]Delivery{reject(x, "clock_skew")}, err)
	return Scenario{Steps: st, Expect: []Expectation{{Account: s.wxAcct(), OutTradeNo: w.OutTradeNo}}}, err
}

func wrongMerchant(s *Sandbox, run string) (Scenario, error) {
	t := s.aliTrade(run, "17", 100)
	t.AppID = "2021999999999999"
	a, e1 := s.ali("validly signed, other app_id", t, AlipayOptions{})
	w := s.wxTrade(run, "17", 100)
	w.MchID = "1999999999"
	x, e2 := s.wxPay("validly signed, other mchid", w, WeChatV3Options{})
	st, err := steps([]Delivery{reject(a, "account_mismatch"), reject(x, "account_mismatch")}, e1, e2)
	return Scenario{Steps: st, Expect: []Expectation{{Account: s.aliAcct(), OutTradeNo: t.OutTradeNo}, {Account: s.wxAcct(), OutTradeNo: w.OutTradeNo}}}, err
}

func unknownAccount(s *Sandbox, run string) (Scenario, error) {
	t := s.aliTrade(run, "18", 100)
	a, err := s.ali("to /notify/no-such-account", t, AlipayOptions{})
	a.Account = "no-such-account"
	st, err := steps([]Delivery{reject(a, "unknown_account")}, err)
	return Scenario{Steps: st}, err
}

func oversize(s *Sandbox, run string) (Scenario, error) {
	t := s.aliTrade(run, "19", 100)
	t.Subject = strings.Repeat("x", 1<<20)
	a, err := s.ali("1 MiB body", t, AlipayOptions{})
	st, err := steps([]Delivery{reject(a, "oversize")}, err)
	return Scenario{Steps: st, Expect: []Expectation{{Account: s.aliAcct(), OutTradeNo: t.OutTradeNo}}}, err
}

func wrongMethod(s *Sandbox, run string) (Scenario, error) {
	t := s.aliTrade(run, "20", 100)
	a, err := s.ali("GET instead of POST", t, AlipayOptions{})
	a.Method = http.MethodGet
	st, err := steps([]Delivery{reject(a, "method")}, err)
	return Scenario{Steps: st, Expect: []Expectation{{Account: s.aliAcct(), OutTradeNo: t.OutTradeNo}}}, err
}

func malformed(s *Sandbox, run string) (Scenario, error) {
	return Scenario{Steps: [][]Delivery{
		{reject(Delivery{Name: "form without sign", Account: s.aliAcct(), Body: []byte("out_trade_no=1&total_amount=1.00"), Protocol: payrecon.ProtocolAlipay}, "bad_signature")},
		{reject(Delivery{Name: "broken percent escape", Account: s.aliAcct(), Body: []byte("a=%zz&sign=x"), Protocol: payrecon.ProtocolAlipay}, "malformed")},
		{reject(Delivery{Name: "empty body", Account: s.wxAcct(), Body: nil, Protocol: payrecon.ProtocolWeChatV3}, "malformed")},
		{reject(Delivery{Name: "v2 XML with a bad sign", Account: s.wxAcct(), Body: []byte("<xml><return_code>SUCCESS</return_code><sign>00</sign></xml>"), Protocol: payrecon.ProtocolWeChatV2}, "bad_signature")},
	}}, nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// DeliverDays sends the days' notifications as the providers would (faults
// applied: dropped ones are absent), one at a time, to the intake at
// target, and checks each reply.
func (s *Sandbox) DeliverDays(ctx context.Context, client *http.Client, target string, out io.Writer, days ...*Day) (Result, error) {
	var all []Delivery
	for _, day := range days {
		ds, err := s.Deliveries(day)
		if err != nil {
			return Result{}, err
		}
		all = append(all, ds...)
	}
	return Deliver(ctx, client, target, "business-day", all, out)
}

// Deliver sends deliveries one at a time, in order, as one scenario named
// name, and checks each reply.
func Deliver(ctx context.Context, client *http.Client, target, name string, ds []Delivery, out io.Writer) (Result, error) {
	steps := make([][]Delivery, len(ds))
	for i, d := range ds {
		steps[i] = []Delivery{d}
	}
	return Fire(ctx, client, target, []Scenario{{Name: name, Steps: steps}}, out)
}

// Check compares the ledger's trades with what the scenarios must leave
// and returns one line per expectation not met.
func Check(exp []Expectation, trades []payrecon.Trade) []string {
	type key struct{ a, o string }
	got := map[key]payrecon.Trade{}
	for _, t := range trades {
		got[key{t.Account, t.OutTradeNo}] = t
	}
	var bad []string
	for _, e := range exp {
		t, ok := got[key{e.Account, e.OutTradeNo}]
		switch {
		case e.Status == "" && ok:
			bad = append(bad, fmt.Sprintf("%s/%s must not be in the ledger (status %s)", e.Account, e.OutTradeNo, t.Status))
		case e.Status == "":
		case !ok:
			bad = append(bad, fmt.Sprintf("%s/%s missing", e.Account, e.OutTradeNo))
		case t.Status != e.Status || t.AmountFen != e.AmountFen || t.RefundedFen != e.RefundedFen:
			bad = append(bad, fmt.Sprintf("%s/%s = %s %d/%d, want %s %d/%d", e.Account, e.OutTradeNo,
				t.Status, t.AmountFen, t.RefundedFen, e.Status, e.AmountFen, e.RefundedFen))
		}
	}
	return bad
}

// Trigger fires the named scenarios (all when names is empty) at the intake
// at target, then checks the ledger, read by trades, against what each
// scenario must leave. It reports to out and fails on an unexpected reply
// or an expectation not met.
func (s *Sandbox) Trigger(ctx context.Context, target string, names []string, out io.Writer, trades func(context.Context) ([]payrecon.Trade, error)) error {
	scs, err := s.Build(names)
	if err != nil {
		return err
	}
	res, fireErr := Fire(ctx, &http.Client{Timeout: 10 * time.Second}, target, scs, out)
	fmt.Fprintf(out, "\nsent %d notifications: %d acknowledged, %d rejected\n", res.Sent, res.Accepted, res.Rejected)
	ts, err := trades(ctx)
	if err != nil {
		return err
	}
	bad := Check(res.Expect, ts)
	for _, b := range bad {
		fmt.Fprintln(out, "LEDGER MISMATCH:", b)
	}
	if fireErr != nil {
		for _, u := range res.Unexpected {
			fmt.Fprintln(out, "UNEXPECTED REPLY:", u)
		}
		return fireErr
	}
	if len(bad) > 0 {
		return fmt.Errorf("%d ledger expectations not met", len(bad))
	}
	fmt.Fprintf(out, "ledger checked: all %d expectations met\n", len(res.Expect))
	return nil
}

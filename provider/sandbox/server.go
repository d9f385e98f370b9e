package sandbox

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider/alipay"
	"github.com/payrecon/payrecon/provider/keyfile"
	"github.com/payrecon/payrecon/provider/wechatpay"
)

// ServerFaults make the emulated APIs misbehave on purpose.
type ServerFaults struct {
	// BillNotReady answers this many bill requests (per provider) with
	// "not ready" (isp.bill_not_exist / STATEMENT_CREATING) first.
	BillNotReady int
	// Errors5xx answers this many API calls (per provider) with HTTP 503
	// first.
	Errors5xx int
	// Slow delays every API answer.
	Slow time.Duration
	// BadHash serves a WeChat Pay bill whose SHA1 does not match.
	BadHash bool
	// CorruptTotals serves bills whose footer disagrees with the rows.
	CorruptTotals bool
	// Proxy502 answers this many WeChat Pay API calls with an unsigned
	// HTML 502, as a proxy in front of the API does.
	Proxy502 int
	// ExpiredDownload answers this many WeChat Pay bill file downloads
	// with 404, as an expired download_url does.
	ExpiredDownload int
	// GzipBomb appends this many zero bytes to every WeChat Pay bill file
	// (after the bill, in the same gzip stream as extra members of 1 MiB
	// each, about 1 KiB compressed): a decompression bomb.
	GzipBomb int64
	// RefundQueryDelta is added to the refund amount of every refund query
	// answer (both providers), so the provider confirms a refund with
	// another amount than its bill row's.
	RefundQueryDelta payrecon.Fen
	// NoPlatformCerts answers GET /v3/certificates with an empty list,
	// as for a merchant on the WeChat Pay public key alone.
	NoPlatformCerts bool
	// QueryNoAuth refuses every trade and refund query as a provider
	// refuses a method the app or merchant has not been granted, while
	// bills download as usual: Alipay answers 40006
	// isv.insufficient-isv-permissions, WeChat Pay 403 NO_AUTH.
	QueryNoAuth bool
}

// Server emulates the Alipay gateway and the WeChat Pay APIv3 endpoints
// payrecon uses, over the days it holds: requests must be signed with the
// sandbox merchant's keys, responses are signed with the providers' keys,
// bills are served in the exact byte formats.
type Server struct {
	sb     *Sandbox
	appPub *rsa.PublicKey // the merchant's Alipay app key
	mchPub *rsa.PublicKey // the merchant's WeChat Pay API key
	mu     sync.Mutex
	days   map[string]*Day
	faults ServerFaults
	count  map[string]int
	// Calls counts API calls by name, for tests and the demo.
	calls map[string]int
	base  string
}

// NewServer serves the sandbox's providers. Add days with AddDay.
func (s *Sandbox) NewServer(faults ServerFaults) (*Server, error) {
	read := func(name string) (*rsa.PublicKey, error) {
		b, err := os.ReadFile(filepath.Join(s.Dir, "sandbox", name))
		if err != nil {
			return nil, err
		}
		return keyfile.ParsePublicKey(b)
	}
	app, err := read("alipay_app_public.pem")
	if err != nil {
		return nil, fmt.Errorf("sandbox server: %w", err)
	}
	mch, err := read("merchant_public.pem")
	if err != nil {
		return nil, fmt.Errorf("sandbox server: %w", err)
	}
	return &Server{sb: s, appPub: app, mchPub: mch, days: map[string]*Day{}, faults: faults, count: map[string]int{}, calls: map[string]int{}}, nil
}

// AddDay makes a day's trades and bills available.
func (sv *Server) AddDay(d *Day) {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	sv.days[d.Date.Format("2006-01-02")] = d
}

// SetBaseURL tells the server its own address, for download URLs.
func (sv *Server) SetBaseURL(u string) { sv.base = strings.TrimRight(u, "/") }

// Calls returns how many times each API was called.
func (sv *Server) Calls() map[string]int {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	out := map[string]int{}
	for k, v := range sv.calls {
		out[k] = v
	}
	return out
}

// fault reports whether this call of kind should fail on purpose.
func (sv *Server) fault(kind string, budget int) bool {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	sv.count[kind]++
	return sv.count[kind] <= budget
}

func (sv *Server) called(name string) {
	sv.mu.Lock()
	sv.calls[name]++
	sv.mu.Unlock()
}

func (sv *Server) find(p payrecon.Provider, no string) *Trade {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	for _, d := range sv.days {
		if t := d.Find(p, no); t != nil {
			return t
		}
	}
	return nil
}

// ServeHTTP routes the emulated endpoints.
func (sv *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if sv.faults.Slow > 0 {
		time.Sleep(sv.faults.Slow)
	}
	switch {
	case r.URL.Path == "/gateway.do":
		sv.alipayGateway(w, r)
	case r.URL.Path == "/alipay/bill":
		sv.alipayBillFile(w, r)
	case strings.HasPrefix(r.URL.Path, "/v3/"):
		sv.wechat(w, r)
	default:
		http.NotFound(w, r)
	}
}

// --- Alipay

// gatewayParams returns the request's parameters as the gateway reads
// them: the form body and the query string together (the official SDKs
// put app_id, method, sign, … in the query and biz_content in the body).
// A key in both keeps the body's value.
func gatewayParams(r *http.Request) (url.Values, error) {
	if err := r.ParseForm(); err != nil {
		return nil, err
	}
	p := url.Values{}
	for k, v := range r.PostForm {
		p[k] = v
	}
	for k, v := range r.URL.Query() {
		if _, ok := p[k]; !ok {
			p[k] = v
		}
	}
	return p, nil
}

// gatewayError answers a gateway-level failure the way the gateway does:
// under the method's own *_response key, signed, when the method is known
// (isv.invalid-signature is answered so: alipay-sdk's exec comments and
// yansongda/pay#160 show it), and as an unsigned top-level error_response
// when no method or app can be named.
func (sv *Server) gatewayError(w http.ResponseWriter, method, code, msg, subCode, subMsg string) {
	body := map[string]any{"code": code, "msg": msg, "sub_code": subCode, "sub_msg": subMsg}
	if method == "" {
		raw, _ := json.Marshal(map[string]any{"error_response": body})
		w.Header().Set("Content-Type", "text/html;charset=utf-8")
		w.Write(raw)
		return
	}
	sv.alipayReply(w, strings.ReplaceAll(method, ".", "_")+"_response", body)
}

func (sv *Server) alipayGateway(w http.ResponseWriter, r *http.Request) {
	p, err := gatewayParams(r)
	if err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	method := p.Get("method")
	sv.called(method)
	if sv.fault("alipay-5xx", sv.faults.Errors5xx) {
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
		return
	}
	switch {
	case method == "":
		sv.gatewayError(w, "", "40001", "Missing Required Arguments", "isv.missing-method", "缺少方法名参数")
		return
	case !gatewayMethod(method):
		sv.gatewayError(w, "", "40002", "Invalid Arguments", "isv.invalid-method", "不存在的方法名")
		return
	case p.Get("app_id") != sv.sb.ID.Alipay.AppID:
		sv.gatewayError(w, "", "40002", "Invalid Arguments", "isv.invalid-app-id", "无效的AppID参数")
		return
	}
	// Requests are signed over every parameter but sign (sign_type kept).
	if alipay.Verify(sv.appPub, alipay.RSA2, []byte(alipay.SignContent(p, true)), p.Get("sign")) != nil {
		sv.gatewayError(w, method, "40002", "Invalid Arguments", "isv.invalid-signature", "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配")
		return
	}
	if sv.faults.QueryNoAuth && method != "alipay.data.dataservice.bill.downloadurl.query" {
		sv.gatewayError(w, method, "40006", "Insufficient Permissions", "isv.insufficient-isv-permissions", "ISV权限不足，建议在开发者中心检查对应功能是否已经添加")
		return
	}
	sv.alipayMethod(w, method, p.Get("biz_content"))
}

// gatewayMethod reports whether the emulator implements method.
func gatewayMethod(method string) bool {
	switch method {
	case "alipay.trade.query", "alipay.trade.fastpay.refund.query",
		"alipay.fund.trans.common.query", "alipay.data.dataservice.bill.downloadurl.query":
		return true
	}
	return false
}

// alipayMethod answers one verified gateway call.
func (sv *Server) alipayMethod(w http.ResponseWriter, method, bizContent string) {
	resp := strings.ReplaceAll(method, ".", "_") + "_response"
	var biz map[string]any
	json.Unmarshal([]byte(bizContent), &biz)
	str := func(k string) string { s, _ := biz[k].(string); return s }
	notExist := map[string]any{"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_NOT_EXIST", "sub_msg": "交易不存在"}
	var body map[string]any
	switch method {
	case "alipay.trade.query":
		t := sv.find(payrecon.Alipay, cmp.Or(str("trade_no"), str("out_trade_no")))
		if t == nil {
			body = notExist
			break
		}
		body = alipayTradeQuery(t)
	case "alipay.trade.fastpay.refund.query":
		t := sv.find(payrecon.Alipay, cmp.Or(str("trade_no"), str("out_trade_no")))
		if t == nil {
			body = notExist
			break
		}
		body = map[string]any{"code": "10000", "msg": "Success", "trade_no": t.ProviderTradeNo, "out_trade_no": t.OutTradeNo,
			"out_request_no": str("out_request_no"), "total_amount": t.AmountFen.Yuan()}
		for _, rf := range t.Refunds {
			if rf.OutRefundNo == str("out_request_no") {
				body["refund_amount"] = (rf.AmountFen + sv.faults.RefundQueryDelta).Yuan()
				body["refund_status"] = "REFUND_SUCCESS"
				body["gmt_refund_pay"] = alipay.FormatTime(rf.At)
			}
		}
	case "alipay.fund.trans.common.query":
		body = sv.alipayTransferQuery(str("out_biz_no"))
	case "alipay.data.dataservice.bill.downloadurl.query":
		date := str("bill_date")
		if sv.fault("alipay-bill-not-ready", sv.faults.BillNotReady) || sv.day(date) == nil {
			body = map[string]any{"code": "40004", "msg": "Business Failed", "sub_code": "isp.bill_not_exist", "sub_msg": "账单不存在"}
			break
		}
		body = map[string]any{"code": "10000", "msg": "Success",
			"bill_download_url": sv.base + "/alipay/bill?bizType=trade&fileType=csv.zip&bizDates=" + strings.ReplaceAll(date, "-", "") + "&token=" + randHex(8)}
	}
	sv.alipayReply(w, resp, body)
}

// alipayTransferQuery answers alipay.fund.trans.common.query.
func (sv *Server) alipayTransferQuery(outBizNo string) map[string]any {
	body := map[string]any{"code": "40004", "msg": "Business Failed", "sub_code": "ORDER_NOT_EXIST", "sub_msg": "转账订单不存在"}
	sv.mu.Lock()
	defer sv.mu.Unlock()
	for _, d := range sv.days {
		for _, tr := range d.Transfers {
			if tr.OutBizNo == outBizNo {
				body = map[string]any{"code": "10000", "msg": "Success", "order_id": tr.OrderID, "out_biz_no": tr.OutBizNo,
					"pay_fund_order_id": tr.OrderID + "9", "status": tr.Status, "trans_amount": tr.AmountFen.Yuan(), "pay_date": alipay.FormatTime(tr.PaidAt)}
			}
		}
	}
	return body
}

// alipayTradeQuery answers alipay.trade.query as the gateway does:
// TRADE_SUCCESS for a paid trade; TRADE_CLOSED both for a trade closed
// unpaid (no send_pay_date) and for one paid and then fully refunded
// (send_pay_date set: the money did reach the seller).
func alipayTradeQuery(t *Trade) map[string]any {
	body := map[string]any{"code": "10000", "msg": "Success", "trade_no": t.ProviderTradeNo, "out_trade_no": t.OutTradeNo,
		"trade_status": "TRADE_SUCCESS", "total_amount": t.AmountFen.Yuan(), "buyer_logon_id": "sbx***@example.com"}
	if t.PaidAt.IsZero() {
		body["trade_status"] = "TRADE_CLOSED"
		return body
	}
	body["receipt_amount"] = (t.AmountFen - t.DiscountFen).Yuan()
	body["send_pay_date"] = alipay.FormatTime(t.PaidAt)
	if t.Currency != "" { // a trade priced in another currency (标价币种)
		body["trans_currency"] = t.Currency
	}
	if t.FullyRefunded() {
		body["trade_status"] = "TRADE_CLOSED"
	}
	return body
}

// alipayReply writes {"x_response":{…},"sign":"…"}, signing the exact bytes
// of the response object (with "/" escaped as "\/", as Alipay does).
func (sv *Server) alipayReply(w http.ResponseWriter, name string, body map[string]any) {
	raw, _ := json.Marshal(body)
	raw = bytes.ReplaceAll(raw, []byte("/"), []byte(`\/`))
	sig, err := alipay.Sign(sv.sb.alipayKey, alipay.RSA2, raw)
	if err != nil {
		http.Error(w, "sign", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html;charset=utf-8")
	fmt.Fprintf(w, `{"%s":%s,"sign":"%s"}`, name, raw, sig)
}

func (sv *Server) day(date string) *Day {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	return sv.days[date]
}

func (sv *Server) alipayBillFile(w http.ResponseWriter, r *http.Request) {
	sv.called("alipay bill file")
	d, err := time.ParseInLocation("20060102", r.URL.Query().Get("bizDates"), payrecon.ShanghaiFixed)
	day := sv.day(d.Format("2006-01-02"))
	if err != nil || day == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	WriteAlipayBill(w, sv.sb.ID.Alipay.SellerID, day.Date, day.BillRows(payrecon.Alipay), BillOptions{CorruptTotals: sv.faults.CorruptTotals})
}

// --- WeChat Pay

func (sv *Server) wechat(w http.ResponseWriter, r *http.Request) {
	sv.called("wechatpay " + r.URL.Path)
	sg, ok := sv.responseSigner(r.Header.Get(wechatpay.HeaderSerial))
	if !ok {
		sv.wxJSON(w, http.StatusBadRequest, map[string]string{"code": "PARAM_ERROR", "message": "Wechatpay-Serial 无效"}, sg)
		return
	}
	if err := sv.checkAuthorization(r); err != nil {
		sv.wxJSON(w, http.StatusUnauthorized, map[string]string{"code": "SIGN_ERROR", "message": err.Error()}, sg)
		return
	}
	if r.URL.Path != "/v3/billdownload/file" && sv.fault("wechat-proxy-502", sv.faults.Proxy502) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, "<html><body><h1>502 Bad Gateway</h1></body></html>")
		return
	}
	if sv.fault("wechat-5xx", sv.faults.Errors5xx) {
		sv.wxJSON(w, http.StatusInternalServerError, map[string]string{"code": "SYSTEM_ERROR", "message": "系统错误"}, sg)
		return
	}
	path := r.URL.Path
	query := strings.HasPrefix(path, "/v3/pay/transactions/out-trade-no/") || strings.HasPrefix(path, "/v3/refund/domestic/refunds/")
	if query && sv.faults.QueryNoAuth {
		sv.wxJSON(w, http.StatusForbidden, map[string]string{"code": "NO_AUTH", "message": "商户无权限"}, sg)
		return
	}
	switch {
	case strings.HasPrefix(path, "/v3/pay/transactions/out-trade-no/"):
		sv.wechatTransaction(w, r, sg)
	case strings.HasPrefix(path, "/v3/refund/domestic/refunds/"):
		sv.wechatRefund(w, r, sg)
	case path == "/v3/bill/tradebill":
		sv.wechatTradeBill(w, r, sg)
	case path == "/v3/billdownload/file":
		sv.wechatBillDownload(w, r)
	case path == "/v3/certificates":
		sv.wechatCertificates(w, sg)
	default:
		sv.wxJSON(w, http.StatusNotFound, map[string]string{"code": "NOT_FOUND", "message": "no such API"}, sg)
	}
}

// wechatTransaction answers a query of a trade by merchant order number.
func (sv *Server) wechatTransaction(w http.ResponseWriter, r *http.Request, sg wxSigner) {
	no, _ := url.PathUnescape(strings.TrimPrefix(r.URL.Path, "/v3/pay/transactions/out-trade-no/"))
	if r.URL.Query().Get("mchid") != sv.sb.ID.WeChat.MchID {
		sv.wxJSON(w, http.StatusBadRequest, map[string]string{"code": "PARAM_ERROR", "message": "mchid"}, sg)
		return
	}
	t := sv.find(payrecon.WeChatPay, no)
	if t == nil {
		sv.wxJSON(w, http.StatusNotFound, map[string]string{"code": "ORDER_NOT_EXIST", "message": "订单不存在"}, sg)
		return
	}
	state := "SUCCESS"
	if len(t.Refunds) > 0 {
		state = "REFUND"
	}
	if t.PaidAt.IsZero() {
		state = "CLOSED"
	}
	res := sv.sb.transactionResource(WeChatTransaction{OutTradeNo: t.OutTradeNo, TransactionID: t.ProviderTradeNo, Amount: t.AmountFen, State: state, Paid: t.PaidAt,
		AppID: t.AppID, Currency: t.Currency})
	if state == "REFUND" {
		res["success_time"] = t.PaidAt.In(payrecon.ShanghaiFixed).Format(time.RFC3339)
	}
	sv.wxJSON(w, http.StatusOK, res, sg)
}

// wechatRefund answers a query of one refund.
func (sv *Server) wechatRefund(w http.ResponseWriter, r *http.Request, sg wxSigner) {
	no, _ := url.PathUnescape(strings.TrimPrefix(r.URL.Path, "/v3/refund/domestic/refunds/"))
	sv.mu.Lock()
	var found map[string]any
	for _, d := range sv.days {
		for _, t := range d.Trades {
			for _, rf := range t.Refunds {
				if t.Provider == payrecon.WeChatPay && rf.OutRefundNo == no {
					found = map[string]any{"refund_id": rf.ProviderRefundNo, "out_refund_no": rf.OutRefundNo, "transaction_id": t.ProviderTradeNo,
						"out_trade_no": t.OutTradeNo, "channel": "ORIGINAL", "status": "SUCCESS",
						"success_time": rf.At.In(payrecon.ShanghaiFixed).Format(time.RFC3339), "create_time": rf.At.Add(-3 * time.Second).In(payrecon.ShanghaiFixed).Format(time.RFC3339),
						"amount": map[string]any{"total": int64(t.AmountFen), "refund": int64(rf.AmountFen + sv.faults.RefundQueryDelta), "payer_total": int64(t.AmountFen),
							"payer_refund": int64(rf.AmountFen + sv.faults.RefundQueryDelta), "currency": cmp.Or(t.Currency, "CNY")}}
				}
			}
		}
	}
	sv.mu.Unlock()
	if found == nil {
		sv.wxJSON(w, http.StatusNotFound, map[string]string{"code": "RESOURCE_NOT_EXISTS", "message": "退款单不存在"}, sg)
		return
	}
	sv.wxJSON(w, http.StatusOK, found, sg)
}

// wechatTradeBill applies for a day's trade bill: its hash and a
// short-lived download URL.
func (sv *Server) wechatTradeBill(w http.ResponseWriter, r *http.Request, sg wxSigner) {
	date := r.URL.Query().Get("bill_date")
	if sv.fault("wechat-bill-not-ready", sv.faults.BillNotReady) {
		sv.wxJSON(w, http.StatusBadRequest, map[string]string{"code": "STATEMENT_CREATING", "message": "账单生成中"}, sg)
		return
	}
	day := sv.day(date)
	if day == nil {
		sv.wxJSON(w, http.StatusBadRequest, map[string]string{"code": "NO_STATEMENT_EXIST", "message": "请求的账单文件不存在"}, sg)
		return
	}
	plain := sv.wechatBill(day)
	sum := sha1.Sum(plain)
	hash := hex.EncodeToString(sum[:])
	if sv.faults.BadHash {
		hash = strings.Repeat("0", 40)
	}
	sv.wxJSON(w, http.StatusOK, map[string]string{"hash_type": "SHA1", "hash_value": hash,
		"download_url": sv.base + "/v3/billdownload/file?token=" + strings.ReplaceAll(date, "-", "") + randHex(6) + "&tartype=gzip"}, sg)
}

// wechatBillDownload serves the bill file itself (gzip, not signed).
func (sv *Server) wechatBillDownload(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	if sv.fault("wechat-download-expired", sv.faults.ExpiredDownload) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"code":"NOT_FOUND","message":"下载链接已过期"}`)
		return
	}
	if len(tok) < 8 {
		http.NotFound(w, r)
		return
	}
	d, err := time.ParseInLocation("20060102", tok[:8], payrecon.ShanghaiFixed)
	day := sv.day(d.Format("2006-01-02"))
	if err != nil || day == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	zw := gzip.NewWriter(w)
	zw.Write(sv.wechatBill(day))
	zw.Close()
	if sv.faults.GzipBomb > 0 {
		writeGzipBomb(w, sv.faults.GzipBomb)
	}
}

// writeGzipBomb writes gzip members that inflate to n zero bytes: one
// member of 1 MiB of zeros, compressed once, written again and again.
func writeGzipBomb(w io.Writer, n int64) {
	var member bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&member, gzip.BestCompression)
	zw.Write(make([]byte, 1<<20))
	zw.Close()
	for ; n > 0; n -= 1 << 20 {
		if _, err := w.Write(member.Bytes()); err != nil {
			return // the client hung up: it refused the bomb
		}
	}
}

func (sv *Server) wechatBill(d *Day) []byte {
	var b bytes.Buffer
	WriteWeChatBill(&b, sv.sb.ID.WeChat.MchID, sv.sb.ID.WeChat.AppID, d.BillRows(payrecon.WeChatPay), BillOptions{CorruptTotals: sv.faults.CorruptTotals})
	return b.Bytes()
}

// checkAuthorization verifies the merchant's WECHATPAY2-SHA256-RSA2048
// header over method, path?query, timestamp, nonce and body.
func (sv *Server) checkAuthorization(r *http.Request) error {
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, "WECHATPAY2-SHA256-RSA2048 ")
	if !ok {
		return fmt.Errorf("Authorization scheme")
	}
	f := map[string]string{}
	for _, kv := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		f[k] = strings.Trim(v, `"`)
	}
	if f["mchid"] != sv.sb.ID.WeChat.MchID || f["serial_no"] != sv.sb.ID.WeChat.MerchantSerial {
		return fmt.Errorf("mchid or serial_no")
	}
	ts, err := strconv.ParseInt(f["timestamp"], 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)).Abs() > 5*time.Minute {
		return fmt.Errorf("Http头Authorization中的timestamp与发起请求的时间不得超过5分钟")
	}
	var body []byte
	if r.Body != nil {
		body, _ = readAllLimit(r, 1<<20)
	}
	msg := wechatpay.RequestMessage(r.Method, r.URL.RequestURI(), f["timestamp"], f["nonce_str"], body)
	if wechatpay.VerifySHA256(sv.mchPub, msg, f["signature"]) != nil {
		return fmt.Errorf("签名错误")
	}
	return nil
}

func readAllLimit(r *http.Request, n int64) ([]byte, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(http.MaxBytesReader(nil, r.Body, n))
	return b.Bytes(), err
}

// wxSigner is the WeChat Pay key an answer is signed with and the
// Wechatpay-Serial that names it.
type wxSigner struct {
	serial string
	key    *rsa.PrivateKey
}

// responseSigner picks the key WeChat Pay signs an API answer with from
// the request's Wechatpay-Serial: the public key when the request names
// its PUB_KEY_ID_…, the platform certificate when it names that or
// nothing. An unknown serial is refused (ok false; the refusal is signed
// with the platform certificate). [U] the real refusal's code and text.
func (sv *Server) responseSigner(serial string) (wxSigner, bool) {
	platform := wxSigner{serial: sv.sb.ID.WeChat.PlatformSerial, key: sv.sb.wxPlatformKey}
	switch serial {
	case sv.sb.ID.WeChat.PublicKeyID:
		return wxSigner{serial: serial, key: sv.sb.wxPubKey}, true
	case "", sv.sb.ID.WeChat.PlatformSerial:
		return platform, true
	}
	return platform, false
}

// wxJSON writes a JSON response signed as APIv3 responses are, with the
// key sg names.
func (sv *Server) wxJSON(w http.ResponseWriter, status int, v any, sg wxSigner) {
	body, _ := json.Marshal(v)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	nonce := randAlnum(32)
	sig, err := wechatpay.SignSHA256(sg.key, wechatpay.Message(ts, nonce, body))
	if err == nil {
		w.Header().Set(wechatpay.HeaderTimestamp, ts)
		w.Header().Set(wechatpay.HeaderNonce, nonce)
		w.Header().Set(wechatpay.HeaderSignature, sig)
		w.Header().Set(wechatpay.HeaderSerial, sg.serial)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Request-ID", randHex(16))
	w.WriteHeader(status)
	w.Write(body)
}

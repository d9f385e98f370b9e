package wechatpay

import (
	"bufio"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider"
)

// Client calls WeChat Pay APIv3 for one merchant: every request carries a
// WECHATPAY2-SHA256-RSA2048 Authorization, every response except the bill
// file itself is verified with the keys of Verifier.
type Client struct {
	MchID    string
	Serial   string // merchant API certificate serial
	Key      *rsa.PrivateKey
	BaseURL  string
	Verifier *Verifier // response keys and clock
	HTTP     *http.Client
	// PublicKeyID (PUB_KEY_ID_…), when set, is sent as Wechatpay-Serial
	// on every request, so WeChat Pay signs its answers with the public
	// key rather than a platform certificate.
	PublicKeyID string
}

var _ provider.Client = (*Client)(nil)

type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// newRequest builds a request carrying the merchant's Authorization over
// the method, the path with query as sent, a fresh nonce and the time.
func (c *Client) newRequest(ctx context.Context, method, rawURL string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, rawURL, nil)
	if err != nil {
		return nil, errors.New("bad URL")
	}
	nonce := make([]byte, 16)
	rand.Read(nonce)
	auth, err := Authorization(c.Key, c.MchID, c.Serial, method, req.URL.RequestURI(),
		strconv.FormatInt(c.Verifier.Now().Unix(), 10), strings.ToUpper(hex.EncodeToString(nonce)), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", auth)
	req.Header.Set("User-Agent", "payrecon")
	if c.PublicKeyID != "" {
		req.Header.Set(HeaderSerial, c.PublicKeyID)
	}
	return req, nil
}

// do sends one signed request. verify says whether the response must be
// signed (false only for the bill file download).
func (c *Client) do(ctx context.Context, op, method, rawURL string, verify bool) (int, http.Header, []byte, error) {
	req, err := c.newRequest(ctx, method, rawURL)
	if err != nil {
		return 0, nil, nil, &provider.Error{Op: op, Message: err.Error(), Err: provider.ErrBadResponse}
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, nil, nil, provider.TransportError(op, "WeChat Pay", "base_url", rawURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<30))
	if err != nil {
		return 0, nil, nil, &provider.Error{Op: op, Message: "read response", Retryable: true}
	}
	if verify {
		if unsignedFault(resp) {
			// A proxy or load balancer in front of the API answered: it
			// signs nothing, and it says nothing about the request.
			return 0, nil, nil, &provider.Error{Op: op, Status: resp.StatusCode, Message: "unsigned answer from a proxy", Retryable: true}
		}
		if _, err := c.Verifier.CheckSignature(resp.Header, body); err != nil {
			return 0, nil, nil, provider.Misconfigured("WeChat Pay's answer does not verify with our keys: check wechatpay_public_key_id, wechatpay_public_key_file and platform_cert_files",
				&provider.Error{Op: op, Status: resp.StatusCode, Message: "response signature: " + err.Error(), Err: provider.ErrBadResponse})
		}
	}
	return resp.StatusCode, resp.Header, body, nil
}

// unsignedFault reports whether resp is a gateway fault (5xx or 429)
// without any Wechatpay-Signature: a proxy's answer, never WeChat Pay's
// (whose error answers are signed). Only a signed answer concludes
// anything, so such a fault is retried, not read as a bad signature.
func unsignedFault(resp *http.Response) bool {
	retryable := resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests
	return retryable && resp.Header.Get(HeaderSignature) == ""
}

func (c *Client) get(ctx context.Context, op, path string, out any) error {
	status, _, body, err := c.do(ctx, op, http.MethodGet, strings.TrimRight(c.BaseURL, "/")+path, true)
	if err != nil {
		return err
	}
	if status >= 200 && status < 300 {
		if err := json.Unmarshal(body, out); err != nil {
			return &provider.Error{Op: op, Status: status, Message: "decode", Err: provider.ErrBadResponse}
		}
		return nil
	}
	var ae apiError
	json.Unmarshal(body, &ae)
	e := &provider.Error{Op: op, Status: status, Code: ae.Code, Message: ae.Message, Retryable: status >= 500 || status == 429}
	switch ae.Code {
	case "ORDER_NOT_EXIST", "RESOURCE_NOT_EXISTS", "NOT_FOUND":
		e.Err = provider.ErrNotFound
	case "STATEMENT_CREATING":
		e.Err, e.Retryable = provider.ErrBillNotReady, true
	case "NO_STATEMENT_EXIST":
		e.Err = provider.ErrNoBill
	case "SYSTEM_ERROR", "FREQUENCY_LIMITED":
		e.Retryable = true
	}
	if hint := misconfigHint(status, ae.Code); hint != "" {
		return provider.Misconfigured(hint, e)
	}
	return e
}

// misconfigHint says in plain words what a WeChat Pay refusal of who we are
// means and what to check, or "" for any other answer.
func misconfigHint(status int, code string) string {
	switch {
	case code == "SIGN_ERROR" || status == http.StatusUnauthorized:
		return "WeChat Pay rejected our request signature: check mchid, merchant_serial and merchant_private_key_file"
	case code == "MCH_NOT_EXISTS":
		return "WeChat Pay does not know this merchant number: check mchid"
	case code == "NO_AUTH" || status == http.StatusForbidden:
		return "WeChat Pay refused this merchant access to the API: check mchid and the products enabled for it"
	case code == "APPID_MCHID_NOT_MATCH":
		return "WeChat Pay says the app id does not belong to this merchant: check appid and mchid"
	}
	return ""
}

// QueryPayment implements provider.Client: GET
// /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=….
func (c *Client) QueryPayment(ctx context.Context, outTradeNo, _ string) (provider.Query, error) {
	var t Transaction
	path := "/v3/pay/transactions/out-trade-no/" + url.PathEscape(outTradeNo) + "?mchid=" + url.QueryEscape(c.MchID)
	if err := c.get(ctx, "wechatpay query order", path, &t); err != nil {
		return provider.Query{}, err
	}
	q := provider.Query{State: t.TradeState, Currency: t.Amount.Currency,
		Evidence: fmt.Sprintf("GET /v3/pay/transactions/out-trade-no transaction_id=%s trade_state=%s", t.TransactionID, t.TradeState)}
	if t.TradeState == "" {
		return q, nil
	}
	n := &payrecon.Notification{}
	if err := c.Verifier.transactionEventFrom(t, n); err != nil {
		if errors.Is(err, payrecon.ErrUnsupported) {
			return q, nil
		}
		return q, &provider.Error{Op: "wechatpay query order", Message: err.Error(), Err: provider.ErrBadResponse}
	}
	q.Event = &n.Event
	return q, nil
}

// QueryRefund implements provider.Client: GET
// /v3/refund/domestic/refunds/{out_refund_no}.
func (c *Client) QueryRefund(ctx context.Context, outTradeNo, outRefundNo string) (provider.Query, error) {
	var r struct {
		RefundID      string `json:"refund_id"`
		OutRefundNo   string `json:"out_refund_no"`
		TransactionID string `json:"transaction_id"`
		OutTradeNo    string `json:"out_trade_no"`
		Status        string `json:"status"`
		SuccessTime   string `json:"success_time"`
		Amount        struct {
			Total    int64  `json:"total"`
			Refund   int64  `json:"refund"`
			Currency string `json:"currency"`
		} `json:"amount"`
	}
	if err := c.get(ctx, "wechatpay query refund", "/v3/refund/domestic/refunds/"+url.PathEscape(outRefundNo), &r); err != nil {
		return provider.Query{}, err
	}
	q := provider.Query{State: r.Status, Currency: r.Amount.Currency,
		Evidence: fmt.Sprintf("GET /v3/refund/domestic/refunds refund_id=%s status=%s refund=%d", r.RefundID, r.Status, r.Amount.Refund)}
	at, err := parseRFC3339(r.SuccessTime)
	if err != nil {
		return q, &provider.Error{Op: "wechatpay query refund", Message: "success_time", Err: provider.ErrBadResponse}
	}
	status := payrecon.RefundStatus(r.Status)
	if refundRankOK(status) {
		q.Event = &payrecon.Event{Kind: payrecon.EventRefund, Status: payrecon.StatusPaid,
			OutTradeNo: cmp.Or(r.OutTradeNo, outTradeNo), ProviderTradeNo: r.TransactionID,
			AmountFen: payrecon.Fen(r.Amount.Total), HasAmount: true,
			Refund: &payrecon.Refund{OutRefundNo: cmp.Or(r.OutRefundNo, outRefundNo), ProviderRefundNo: r.RefundID,
				AmountFen: payrecon.Fen(r.Amount.Refund), Status: status, RefundedAt: at}}
	}
	return q, nil
}

func refundRankOK(s payrecon.RefundStatus) bool {
	switch s {
	case payrecon.RefundSuccess, payrecon.RefundClosed, payrecon.RefundAbnormal, payrecon.RefundProcessing:
		return true
	}
	return false
}

// DownloadBill implements provider.Client: GET /v3/bill/tradebill (signed
// response), then a signed GET of download_url (unsigned response),
// gunzipped when gzip, and checked against hash_value (SHA1 of the
// decompressed file; the raw bytes are accepted as a fallback). A
// download_url that has expired (404: it lives 30 s to 5 min) is applied
// for again, up to three times.
func (c *Client) DownloadBill(ctx context.Context, day time.Time, w io.Writer) (provider.BillFormat, error) {
	var err error
	for range 3 {
		err = c.downloadBill(ctx, day, w)
		if !errors.Is(err, errURLExpired) {
			break
		}
	}
	if err != nil {
		return "", err
	}
	return provider.WeChatCSV, nil
}

// errURLExpired marks a download_url answered 404: apply for a new one.
var errURLExpired = errors.New("download_url expired")

func (c *Client) downloadBill(ctx context.Context, day time.Time, w io.Writer) error {
	var apply struct {
		HashType    string `json:"hash_type"`
		HashValue   string `json:"hash_value"`
		DownloadURL string `json:"download_url"`
	}
	date := day.In(payrecon.ShanghaiFixed).Format("2006-01-02")
	if err := c.get(ctx, "wechatpay tradebill", "/v3/bill/tradebill?bill_date="+date+"&bill_type=ALL&tar_type=GZIP", &apply); err != nil {
		return err
	}
	if apply.DownloadURL == "" || !strings.EqualFold(apply.HashType, "SHA1") {
		return &provider.Error{Op: "wechatpay tradebill", Message: "no download_url or unknown hash_type", Err: provider.ErrBadResponse}
	}
	return c.download(ctx, apply.DownloadURL, apply.HashValue, w)
}

// inflateLimited is a writer that bounds the decompressed size of what is
// downloaded into it (the archive's).
type inflateLimited interface {
	InflateLimits() provider.InflateLimits
}

// counter counts the bytes written through it.
type counter struct {
	w io.Writer
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.w.Write(p)
}

// download streams the bill file to w: the request is signed, the response
// is not (WeChat Pay does not sign the file). The SHA1 of the decompressed
// bytes must equal hashValue (the raw bytes' SHA1 is accepted as a
// fallback, since the documentation is ambiguous). w receives the bytes as
// they stream; on a hash mismatch the caller must discard them. A gzipped
// file is decompressed within w's limits (see [provider.InflateLimits]),
// or the defaults: past them the download fails with
// [provider.ErrTooLarge] before more is written.
func (c *Client) download(ctx context.Context, rawURL, hashValue string, w io.Writer) error {
	const op = "wechatpay bill download"
	req, err := c.newRequest(ctx, http.MethodGet, rawURL)
	if err != nil {
		return &provider.Error{Op: op, Message: err.Error(), Err: provider.ErrBadResponse}
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return &provider.Error{Op: op, Message: "transport error", Retryable: true}
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		// Nothing was written: the caller may apply for a new URL.
		return &provider.Error{Op: op, Status: resp.StatusCode, Message: "download_url expired", Err: errURLExpired, Retryable: true}
	}
	if resp.StatusCode != http.StatusOK {
		return &provider.Error{Op: op, Status: resp.StatusCode, Retryable: resp.StatusCode >= 500}
	}
	rawSum, plainSum := sha1.New(), sha1.New()
	raw := &counter{w: rawSum}
	br := bufio.NewReaderSize(io.TeeReader(resp.Body, raw), 64<<10)
	var src io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return &provider.Error{Op: op, Message: "gzip", Err: provider.ErrBadResponse}
		}
		var lim provider.InflateLimits // the defaults, unless the writer says
		if lw, ok := w.(inflateLimited); ok {
			lim = lw.InflateLimits()
		}
		src = lim.Cap(zr, func() int64 { return raw.n })
	}
	if _, err := io.Copy(io.MultiWriter(w, plainSum), src); err != nil {
		if errors.Is(err, provider.ErrTooLarge) { // a gzip bomb: refused, not retried
			return &provider.Error{Op: op, Message: err.Error(), Err: provider.ErrTooLarge}
		}
		return &provider.Error{Op: op, Message: "read body: " + err.Error(), Retryable: true}
	}
	io.Copy(io.Discard, br) // hash any trailing bytes of the raw stream
	if !strings.EqualFold(hex.EncodeToString(plainSum.Sum(nil)), hashValue) && !strings.EqualFold(hex.EncodeToString(rawSum.Sum(nil)), hashValue) {
		return &provider.Error{Op: op, Message: "SHA1 does not match hash_value", Err: provider.ErrBadResponse}
	}
	return nil
}

package notify_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"log/slog"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/notify"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/store"
)

// FuzzHandler drives the whole intake (form, JSON and XML parsing,
// verification, ledger write) with arbitrary bodies and headers. Nothing
// may panic, every reply must be in a provider format, and the only trades
// that may ever reach the ledger are the two the sandbox signed.
func FuzzHandler(f *testing.F) {
	sb := testSandbox(f)
	db, err := store.Open(f.Context(), filepath.Join(f.TempDir(), "fuzz.db"), store.Options{}, slog.New(slog.DiscardHandler))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	now := time.Now()
	a, w := sb.Verifiers(func() time.Time { return now })
	h := notify.Handler([]notify.Account{
		{Name: "ali", Provider: payrecon.Alipay, Verifier: notify.AlipayVerifier{V: a}},
		{Name: "wx", Provider: payrecon.WeChatPay, Verifier: w},
	}, db, notify.Options{MaxBody: 8 << 10, Now: func() time.Time { return now }}, slog.New(slog.DiscardHandler))

	aliBody, err := sb.SignAlipay(sb.AlipayTradeParams(sandbox.AlipayTrade{OutTradeNo: "FA", TradeNo: "2026FA", Amount: 100, Status: "TRADE_SUCCESS", Paid: now}), sandbox.AlipayOptions{})
	if err != nil {
		f.Fatal(err)
	}
	wxHdr, wxBody, err := sb.WeChatV3Transaction(sandbox.WeChatTransaction{OutTradeNo: "FW", TransactionID: "4200FW", Amount: 200, Paid: now}, sandbox.WeChatV3Options{Timestamp: now})
	if err != nil {
		f.Fatal(err)
	}
	v2, err := sb.WeChatV2Pay(sandbox.WeChatTransaction{OutTradeNo: "FV", TransactionID: "4200FV", Amount: 300, Paid: now}, "MD5")
	if err != nil {
		f.Fatal(err)
	}
	allowed := map[string]payrecon.Fen{"FA": 100, "FW": 200, "FV": 300}
	f.Add(false, aliBody, "")
	f.Add(true, wxBody, wxHdr.Get("Wechatpay-Signature"))
	f.Add(true, v2, "")
	f.Add(true, []byte(`{"id":"x","event_type":"TRANSACTION.SUCCESS"}`), "WECHATPAY/SIGNTEST/abc")
	f.Fuzz(func(t *testing.T, toWx bool, body []byte, sig string) {
		acct := "ali"
		if toWx {
			acct = "wx"
		}
		req := httptest.NewRequest(http.MethodPost, "/notify/"+acct, bytes.NewReader(body))
		req.SetPathValue("account", acct)
		for k, v := range wxHdr {
			req.Header[k] = v
		}
		req.Header.Set("Wechatpay-Signature", sig)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		proto := payrecon.ProtocolAlipay
		if toWx {
			proto = payrecon.ProtocolWeChatV3
			if t := bytes.TrimLeft(body, " \t\r\n"); len(t) > 0 && t[0] == '<' {
				proto = payrecon.ProtocolWeChatV2
			}
		}
		if _, _, err := sandbox.Accepted(proto, rec.Code, rec.Body.Bytes()); err != nil {
			t.Fatalf("reply not in %s format: %v", proto, err)
		}
		trades, err := db.Trades(t.Context(), store.TradeFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range trades {
			if want, ok := allowed[tr.OutTradeNo]; !ok || tr.AmountFen != want {
				t.Fatalf("unsigned trade reached the ledger: %+v", tr)
			}
		}
	})
}

package sandbox_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider"
	"github.com/payrecon/payrecon/provider/alipay"
	"github.com/payrecon/payrecon/provider/keyfile"
	"github.com/payrecon/payrecon/provider/providertest"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/provider/sandbox/sandboxtest"
)

// TestGatewayParamsFromQueryAndBody sends the common parameters in the
// query string and biz_content in the body, as the official SDKs do, and
// checks the gateway-shaped answers to good and bad requests.
func TestGatewayParamsFromQueryAndBody(t *testing.T) {
	f := sandboxtest.New(t)
	d := f.GenerateDay(day, sandbox.DayOptions{Trades: 4, Seed: 3})
	f.Serve(t, sandbox.ServerFaults{}, d)
	b, err := os.ReadFile(filepath.Join(f.Dir, "keys", "alipay_app_private.pem"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := keyfile.ParsePrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	no := d.Trades[0].OutTradeNo
	for _, tr := range d.Trades {
		if tr.Provider == payrecon.Alipay {
			no = tr.OutTradeNo
			break
		}
	}
	for _, c := range []struct {
		name, method, appID string
		tamper              bool
		key, code, subCode  string
		signed              bool
	}{
		{"ok", "alipay.trade.query", f.ID.Alipay.AppID, false, "alipay_trade_query_response", "10000", "", true},
		{"bad signature", "alipay.trade.query", f.ID.Alipay.AppID, true, "alipay_trade_query_response", "40002", "isv.invalid-signature", true},
		{"bad app", "alipay.trade.query", "2021999999999999", false, "error_response", "40002", "isv.invalid-app-id", false},
		{"bad method", "alipay.no.such", f.ID.Alipay.AppID, false, "error_response", "40002", "isv.invalid-method", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			common := url.Values{"app_id": {c.appID}, "method": {c.method}, "format": {"JSON"}, "charset": {"utf-8"},
				"sign_type": {"RSA2"}, "timestamp": {"2026-11-21 10:00:00"}, "version": {"1.0"}}
			body := url.Values{"biz_content": {`{"out_trade_no":"` + no + `"}`}}
			all := url.Values{"biz_content": body["biz_content"]}
			for k, v := range common {
				all[k] = v
			}
			sig, err := alipay.Sign(key, alipay.RSA2, []byte(alipay.SignContent(all, true)))
			if err != nil {
				t.Fatal(err)
			}
			common.Set("sign", sig)
			if c.tamper {
				body.Set("biz_content", `{"out_trade_no":"`+no+`X"}`)
			}
			resp, err := http.Post(f.URL+"/gateway.do?"+common.Encode(), "application/x-www-form-urlencoded;charset=utf-8", strings.NewReader(body.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var top map[string]json.RawMessage
			if err := json.Unmarshal(raw, &top); err != nil {
				t.Fatalf("%s: %v", raw, err)
			}
			var obj struct {
				Code    string `json:"code"`
				SubCode string `json:"sub_code"`
			}
			if err := json.Unmarshal(top[c.key], &obj); err != nil || obj.Code != c.code || obj.SubCode != c.subCode {
				t.Fatalf("answer %s: want %s code %s sub_code %q", raw, c.key, c.code, c.subCode)
			}
			if _, signed := top["sign"]; signed != c.signed {
				t.Fatalf("answer %s: signed %v, want %v", raw, signed, c.signed)
			}
		})
	}
}

// TestClientBadSignatureIsGatewayError: payrecon's client signing with a
// key the gateway does not know gets the gateway's signed
// isv.invalid-signature as a business error, not a bad response.
func TestClientBadSignatureIsGatewayError(t *testing.T) {
	f := sandboxtest.New(t)
	f.Serve(t, sandbox.ServerFaults{})
	ac, _ := f.Clients(t)
	c := *ac
	c.Key = providertest.Key(t, 3)
	_, err := c.QueryPayment(t.Context(), "A1", "")
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.Code != "40002" || pe.SubCode != "isv.invalid-signature" || errors.Is(err, provider.ErrBadResponse) {
		t.Fatalf("err = %v", err)
	}
}

package alipay_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/payrecon/payrecon/provider"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/provider/sandbox/sandboxtest"
)

// TestUnsignedTradeNotExistConcludesNothing: an unsigned
// 40004/ACQ.TRADE_NOT_EXIST (anyone on the path can write one) is not
// "not found"; the signed one from the emulator is.
func TestUnsignedTradeNotExistConcludesNothing(t *testing.T) {
	fx := sandboxtest.New(t)
	fx.Serve(t, sandbox.ServerFaults{})
	ali, _ := fx.Clients(t)
	if _, err := ali.QueryPayment(t.Context(), "no-such-order", ""); !errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("signed TRADE_NOT_EXIST: %v, want not found", err)
	}
	for _, code := range []string{"40004", "40002"} {
		fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json;charset=utf-8")
			io.WriteString(w, `{"alipay_trade_query_response":{"code":"`+code+`","msg":"Business Failed","sub_code":"ACQ.TRADE_NOT_EXIST","sub_msg":"交易不存在"}}`)
		}))
		ali.Gateway = fake.URL + "/gateway.do"
		_, err := ali.QueryPayment(t.Context(), "no-such-order", "")
		fake.Close()
		if err == nil || errors.Is(err, provider.ErrNotFound) {
			t.Errorf("unsigned %s ACQ.TRADE_NOT_EXIST: %v, want an error that is not ErrNotFound", code, err)
		}
	}
}

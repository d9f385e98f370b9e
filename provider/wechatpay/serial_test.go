package wechatpay_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/payrecon/payrecon/provider/wechatpay"
)

// TestRequestNamesPublicKey checks that requests carry Wechatpay-Serial:
// PUB_KEY_ID_… exactly when a public key is configured.
func TestRequestNamesPublicKey(t *testing.T) {
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case got <- r.Header.Get(wechatpay.HeaderSerial):
		default: // a retry: the first request is the one checked
		}
		w.WriteHeader(http.StatusBadRequest)
	}))
	defer srv.Close()
	withPub := goodConfig(t)
	platformOnly := goodConfig(t)
	platformOnly.PublicKey, platformOnly.PublicKeyID = nil, ""
	for _, c := range []struct {
		name string
		cfg  wechatpay.Config
		want string
	}{{"public key", withPub, "PUB_KEY_ID_0001"}, {"platform certificates only", platformOnly, ""}} {
		c.cfg.BaseURL = srv.URL
		cl, _, err := wechatpay.New(c.cfg, srv.Client(), nil)
		if err != nil {
			t.Fatal(err)
		}
		cl.QueryPayment(t.Context(), "T1", "") // the answer does not matter
		if s := <-got; s != c.want {
			t.Errorf("%s: Wechatpay-Serial %q, want %q", c.name, s, c.want)
		}
	}
}

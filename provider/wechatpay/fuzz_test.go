package wechatpay_test

import (
	"bytes"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/payrecon/payrecon/provider/providertest"
	"github.com/payrecon/payrecon/provider/wechatpay"
)

func signedCallback(tb testing.TB, key []byte, now time.Time) (http.Header, []byte) {
	tb.Helper()
	pt, _ := json.Marshal(map[string]any{"appid": "wxA", "mchid": "M1", "out_trade_no": "O1", "transaction_id": "T1",
		"trade_state": "SUCCESS", "success_time": "2026-11-20T10:00:00+08:00", "amount": map[string]any{"total": 1234}})
	ct, err := wechatpay.EncryptGCM(key, "123456789012", "transaction", pt)
	if err != nil {
		tb.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"id": "ev1", "event_type": "TRANSACTION.SUCCESS", "resource": map[string]string{
		"algorithm": "AEAD_AES_256_GCM", "ciphertext": ct, "associated_data": "transaction", "nonce": "123456789012", "original_type": "transaction"}})
	ts := strconv.FormatInt(now.Unix(), 10)
	sig, err := wechatpay.SignSHA256(providertest.Key(tb, 0), wechatpay.Message(ts, "n0nce", body))
	if err != nil {
		tb.Fatal(err)
	}
	h := http.Header{}
	h.Set(wechatpay.HeaderTimestamp, ts)
	h.Set(wechatpay.HeaderNonce, "n0nce")
	h.Set(wechatpay.HeaderSignature, sig)
	h.Set(wechatpay.HeaderSerial, "PUB_KEY_ID_1")
	return h, body
}

func FuzzVerify(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	key := []byte("0123456789abcdef0123456789abcdef")
	h, body := signedCallback(f, key, now)
	v := &wechatpay.Verifier{Account: "w", MchID: "M1", AppID: "wxA", APIv3Key: key, APIv2Key: key,
		Keys: map[string]*rsa.PublicKey{"PUB_KEY_ID_1": &providertest.Key(f, 0).PublicKey}, Now: func() time.Time { return now }}
	if _, err := v.Verify(h, body); err != nil {
		f.Fatal(err)
	}
	f.Add(body, h.Get(wechatpay.HeaderSerial), h.Get(wechatpay.HeaderTimestamp))
	f.Add([]byte("<xml><return_code>SUCCESS</return_code></xml>"), "x", "1")
	f.Fuzz(func(t *testing.T, b []byte, serial, ts string) {
		hh := h.Clone()
		hh.Set(wechatpay.HeaderSerial, serial)
		hh.Set(wechatpay.HeaderTimestamp, ts)
		n, err := v.Verify(hh, b)
		if err != nil {
			return
		}
		if !bytes.Equal(b, body) || ts != h.Get(wechatpay.HeaderTimestamp) || n.Event.AmountFen != 1234 {
			t.Fatalf("unsigned change accepted: body %q ts %q event %+v", b, ts, n.Event)
		}
	})
}

func FuzzParseXML(f *testing.F) {
	f.Add([]byte("<xml><a><![CDATA[x]]></a><b>1</b></xml>"))
	f.Add([]byte("<root><a>1</a></root>"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := wechatpay.ParseXML(b)
		if err == nil && m == nil {
			t.Fatal("nil map without error")
		}
	})
}

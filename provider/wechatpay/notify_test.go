package wechatpay_test

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider/keyfile"
	"github.com/payrecon/payrecon/provider/providertest"
	"github.com/payrecon/payrecon/provider/wechatpay"
)

type v3Vector struct {
	APIv3Key  string            `json:"apiv3_key"`
	Headers   map[string]string `json:"headers"`
	Body      string            `json:"body"`
	CertPEM   string            `json:"platform_certificate_pem"`
	Plaintext json.RawMessage   `json:"decrypted_plaintext"`
}

func loadV3(t *testing.T, name string) v3Vector {
	b, err := os.ReadFile(filepath.Join(providertest.SamplesDir(t), "wechatpay", "apiv3", name))
	if err != nil {
		t.Fatal(err)
	}
	var v v3Vector
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSampleV3Vectors(t *testing.T) {
	for _, tc := range []struct {
		file       string
		kind       payrecon.EventKind
		outTradeNo string
	}{
		{"notify_gunsluo_transaction_success.json", payrecon.EventPayment, "S20210128170702357723"},
		{"notify_gunsluo_refund_success.json", payrecon.EventRefund, "S20210128170702357723"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			v := loadV3(t, tc.file)
			pub, err := keyfile.ParsePublicKey([]byte(v.CertPEM))
			if err != nil {
				t.Fatal(err)
			}
			ver := &wechatpay.Verifier{
				Account: "wx", MchID: "1601959334", AppID: "wx81be3101902f7cb2",
				APIv3Key: []byte(v.APIv3Key),
				Keys:     map[string]*rsa.PublicKey{"9AD59953ADF1BABB": pub},
				Now:      func() time.Time { return time.Unix(1611368330, 0) },
			}
			h := http.Header{}
			for k, val := range v.Headers {
				h.Set(k, val)
			}
			n, err := ver.Verify(h, []byte(v.Body))
			if err != nil {
				t.Fatal(err)
			}
			if n.Event.Kind != tc.kind || n.Event.OutTradeNo != tc.outTradeNo || n.Event.AmountFen != 1 {
				t.Fatalf("event = %+v", n.Event)
			}
			// One changed byte in the signed body is rejected.
			bad := strings.Replace(v.Body, `"summary"`, `"Summary"`, 1)
			if _, err := ver.Verify(h, []byte(bad)); !errors.Is(err, payrecon.ErrBadSignature) {
				t.Fatalf("tampered body: err = %v", err)
			}
			// Outside the clock window.
			ver.Now = func() time.Time { return time.Unix(1611368330+301, 0) }
			if _, err := ver.Verify(h, []byte(v.Body)); !errors.Is(err, payrecon.ErrClockSkew) {
				t.Fatalf("skew: err = %v", err)
			}
		})
	}
}

func TestSampleV2SignVector(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(providertest.SamplesDir(t), "wechatpay", "apiv2", "sign_vectors_official_doc.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Key    string            `json:"key"`
		Params map[string]string `json:"params"`
		MD5    string            `json:"md5_sign"`
		HMAC   string            `json:"hmac_sha256_sign"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if got, _ := wechatpay.SignV2(v.Params, []byte(v.Key), wechatpay.SignMD5); got != v.MD5 {
		t.Errorf("MD5 = %s, want %s", got, v.MD5)
	}
	if got, _ := wechatpay.SignV2(v.Params, []byte(v.Key), wechatpay.SignHMACSHA256); got != v.HMAC {
		t.Errorf("HMAC = %s, want %s", got, v.HMAC)
	}
}

func TestGCMKeySize(t *testing.T) {
	if _, err := wechatpay.EncryptGCM([]byte("0123456789abcdef"), "123456789012", "", []byte("x")); !errors.Is(err, wechatpay.ErrKeySize) {
		t.Fatalf("16-byte key: err = %v", err)
	}
	key := []byte("0123456789abcdef0123456789abcdef")
	ct, err := wechatpay.EncryptGCM(key, "123456789012", "transaction", []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := wechatpay.DecryptGCM(key, "123456789012", "transaction", ct); err != nil || string(pt) != "hello" {
		t.Fatalf("round trip: %q %v", pt, err)
	}
	if _, err := wechatpay.DecryptGCM(key, "123456789012", "refund", ct); err == nil {
		t.Fatal("wrong associated data accepted")
	}
}

func TestReqInfoRoundTrip(t *testing.T) {
	key := []byte("192006250b4c09247ec02edce69f6a2d")
	for _, n := range []int{0, 1, 15, 16, 17, 100} {
		pt := []byte(strings.Repeat("x", n))
		got, err := wechatpay.DecryptReqInfo(key, wechatpay.EncryptReqInfo(key, pt))
		if err != nil || string(got) != string(pt) {
			t.Fatalf("len %d: %q %v", n, got, err)
		}
	}
}

func TestParseXML(t *testing.T) {
	m, err := wechatpay.ParseXML([]byte("<xml><a><![CDATA[x y]]></a><b>1</b></xml>"))
	if err != nil || m["a"] != "x y" || m["b"] != "1" {
		t.Fatalf("%v %v", m, err)
	}
	for _, bad := range []string{
		"<xml><a><c>1</c></a></xml>",
		"<xml><a>1</a><a>2</a></xml>",
		"<xml><a>1</a>",
		`<!DOCTYPE x [<!ENTITY e "boom">]><xml><a>&e;</a></xml>`,
	} {
		if _, err := wechatpay.ParseXML([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestAppOK(t *testing.T) {
	for _, c := range []struct {
		appID  string
		appIDs []string
		yes    []string
		no     []string
	}{
		{"", nil, []string{"wxA", ""}, nil},
		{"wxA", nil, []string{"wxA"}, []string{"wxB", ""}},
		{"wxA", []string{"wxB", "wxC"}, []string{"wxA", "wxB", "wxC"}, []string{"wxD", ""}},
		{"", []string{"wxB"}, []string{"wxB"}, []string{"wxA", ""}},
	} {
		v := &wechatpay.Verifier{AppID: c.appID, AppIDs: c.appIDs}
		for _, a := range c.yes {
			if !v.AppOK(a) {
				t.Errorf("appid %q appids %v: %q refused", c.appID, c.appIDs, a)
			}
		}
		for _, a := range c.no {
			if v.AppOK(a) {
				t.Errorf("appid %q appids %v: %q accepted", c.appID, c.appIDs, a)
			}
		}
	}
}

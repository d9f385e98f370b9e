package alipay_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net/url"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider/alipay"
	"github.com/payrecon/payrecon/provider/providertest"
)

func params() url.Values {
	return url.Values{
		"notify_id": {"n1"}, "notify_type": {"trade_status_sync"}, "app_id": {"2021"}, "seller_id": {"2088"},
		"charset": {"utf-8"}, "trade_no": {"T1"}, "out_trade_no": {"O1"}, "trade_status": {"TRADE_SUCCESS"},
		"total_amount": {"12.34"}, "gmt_payment": {"2026-11-20 23:59:59"}, "subject": {"中文 a+b %41"},
	}
}

func sign(t testing.TB, p url.Values, st alipay.SignType, gbk bool) []byte {
	t.Helper()
	k := providertest.Key(t, 0)
	q := url.Values{}
	for kk, v := range p {
		q[kk] = append([]string(nil), v...)
	}
	q.Set("sign_type", string(st))
	if gbk {
		q.Set("charset", "GBK")
		for kk, v := range q {
			g, _ := simplifiedchinese.GBK.NewEncoder().String(v[0])
			q[kk] = []string{g}
		}
	}
	sig, err := alipay.Sign(k, st, []byte(alipay.SignContent(q, false)))
	if err != nil {
		t.Fatal(err)
	}
	q.Set("sign", sig)
	return []byte(q.Encode())
}

func verifier(t testing.TB) *alipay.Verifier {
	return &alipay.Verifier{Account: "a", AppID: "2021", SellerID: "2088",
		Keys: []alipay.Key{{Name: "public-key", Pub: &providertest.Key(t, 0).PublicKey}}}
}

func TestVerifyModes(t *testing.T) {
	v := verifier(t)
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"RSA2", sign(t, params(), alipay.RSA2, false)},
		{"RSA", sign(t, params(), alipay.RSA, false)},
		{"GBK", sign(t, params(), alipay.RSA2, true)},
	} {
		n, err := v.Verify(tc.body)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		want := time.Date(2026, 11, 20, 15, 59, 59, 0, time.UTC) // Beijing 23:59:59
		if n.Event.Kind != payrecon.EventPayment || n.Event.AmountFen != 1234 || !n.Event.PaidAt.Equal(want) || n.Protocol != "alipay" {
			t.Fatalf("%s: %+v", tc.name, n.Event)
		}
	}
}

func TestVerifyCertificateMode(t *testing.T) {
	k := providertest.Key(t, 0)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: "Alipay sandbox"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	other := providertest.Key(t, 1)
	v := &alipay.Verifier{Account: "a", AppID: "2021",
		Keys: []alipay.Key{{Name: "public-key", Pub: &other.PublicKey}, {Name: "cert:" + alipay.CertSN(cert), Pub: cert.PublicKey.(*rsa.PublicKey)}}}
	n, err := v.Verify(sign(t, params(), alipay.RSA2, false))
	if err != nil {
		t.Fatal(err)
	}
	if n.SignedBy != "cert:"+alipay.CertSN(cert) {
		t.Fatalf("signed by %q", n.SignedBy)
	}
}

func TestVerifyRejects(t *testing.T) {
	v := verifier(t)
	good := sign(t, params(), alipay.RSA2, false)
	mod := func(f func(url.Values)) []byte {
		p := params()
		f(p)
		return sign(t, p, alipay.RSA2, false)
	}
	for _, tc := range []struct {
		name string
		body []byte
		want error
	}{
		{"tampered amount", bytes.Replace(good, []byte("total_amount=12.34"), []byte("total_amount=12.35"), 1), payrecon.ErrBadSignature},
		{"no sign", []byte("app_id=2021&total_amount=1.00"), payrecon.ErrBadSignature},
		{"unknown sign_type", bytes.Replace(good, []byte("sign_type=RSA2"), []byte("sign_type=MD5"), 1), payrecon.ErrBadSignature},
		{"bad escape", []byte("a=%zz"), payrecon.ErrMalformed},
		{"repeated parameter", append(append([]byte{}, good...), "&out_trade_no=O2"...), payrecon.ErrMalformed},
		{"other app", mod(func(p url.Values) { p.Set("app_id", "2022") }), payrecon.ErrAccountMismatch},
		{"other seller", mod(func(p url.Values) { p.Set("seller_id", "2089") }), payrecon.ErrAccountMismatch},
		{"no seller when required", mod(func(p url.Values) { p.Del("seller_id") }), payrecon.ErrAccountMismatch},
		{"bad amount", mod(func(p url.Values) { p.Set("total_amount", "1.001") }), payrecon.ErrMalformed},
		{"bad time", mod(func(p url.Values) { p.Set("gmt_payment", "yesterday") }), payrecon.ErrMalformed},
		{"unknown status", mod(func(p url.Values) { p.Set("trade_status", "TRADE_MAYBE") }), payrecon.ErrUnsupported},
		{"no trade_no", mod(func(p url.Values) { p.Del("trade_no") }), payrecon.ErrMalformed},
	} {
		if _, err := v.Verify(tc.body); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestRefundEvents(t *testing.T) {
	v := verifier(t)
	p := params()
	p.Set("refund_fee", "5.00")
	p.Set("out_biz_no", "R1")
	p.Set("gmt_refund", "2026-11-21 10:00:00.123")
	n, err := v.Verify(sign(t, p, alipay.RSA2, false))
	if err != nil {
		t.Fatal(err)
	}
	if n.Event.Kind != payrecon.EventRefund || n.Event.Status != payrecon.StatusPaid || n.Event.Refund.TotalFen != 500 ||
		n.Event.Refund.OutRefundNo != "R1" || n.Event.Refund.RefundedAt.Nanosecond() != 123e6 {
		t.Fatalf("partial refund: %+v %+v", n.Event, n.Event.Refund)
	}
	p.Set("trade_status", "TRADE_CLOSED")
	p.Set("refund_fee", "12.34")
	p.Del("out_biz_no")
	n, err = v.Verify(sign(t, p, alipay.RSA2, false))
	if err != nil {
		t.Fatal(err)
	}
	if n.Event.Status != payrecon.StatusRefunded || n.Event.Refund.OutRefundNo != "O1" {
		t.Fatalf("full refund: %+v", n.Event)
	}
}

func FuzzVerify(f *testing.F) {
	v := verifier(f)
	good := sign(f, params(), alipay.RSA2, false)
	f.Add(good)
	f.Add(sign(f, params(), alipay.RSA2, true))
	f.Add([]byte("a=1&sign=x"))
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := v.Verify(body)
		if err != nil {
			return
		}
		// Only bodies carrying exactly the signed content may pass.
		if n.Event.OutTradeNo != "O1" || n.Event.AmountFen != 1234 || n.Event.ProviderTradeNo != "T1" {
			t.Fatalf("unsigned change accepted: %+v", n.Event)
		}
	})
}

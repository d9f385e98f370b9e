package alipay_test

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon/provider/alipay"
	"github.com/payrecon/payrecon/provider/keyfile"
	"github.com/payrecon/payrecon/provider/providertest"
)

// certPEM is a self-signed certificate over providertest.Key(t, i).
func certPEM(t *testing.T, i int) []byte {
	t.Helper()
	k := providertest.Key(t, i)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(1000 + i)), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestNewDefaults(t *testing.T) {
	hc := &http.Client{}
	cfg := alipay.Config{Account: "ali", AppID: "2021", SellerID: "2088",
		AppPrivateKey:   keyfile.PrivateKeyPEM(providertest.Key(t, 0)),
		AlipayPublicKey: []byte(keyfile.PublicKeyBase64(&providertest.Key(t, 1).PublicKey))}
	cl, v, err := alipay.New(cfg, hc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cl.Gateway != alipay.DefaultGateway || cl.HTTP != hc || cl.Now == nil || cl.AppID != "2021" || cl.Key == nil {
		t.Fatalf("client = %+v", cl)
	}
	if cl.AppCertSN != "" || cl.RootCertSN != "" {
		t.Fatalf("certificate SNs set in public-key mode: %+v", cl)
	}
	if v.Account != "ali" || v.AppID != "2021" || v.SellerID != "2088" || len(v.Keys) != 1 || v.Keys[0].Name != "public-key" {
		t.Fatalf("verifier = %+v", v)
	}
	if len(cl.Keys) != 1 || cl.Keys[0].Pub != v.Keys[0].Pub {
		t.Fatal("client and verifier keys differ")
	}

	cfg.Gateway = "http://127.0.0.1:1/gateway.do"
	if cl, _, err = alipay.New(cfg, hc, nil); err != nil || cl.Gateway != cfg.Gateway {
		t.Fatalf("gateway = %q, %v", cl.Gateway, err)
	}
}

func TestNewCertificateMode(t *testing.T) {
	cfg := alipay.Config{AppID: "2021", AppPrivateKey: keyfile.PrivateKeyPEM(providertest.Key(t, 0)),
		AppCert: certPEM(t, 0), AlipayCert: certPEM(t, 1), AlipayRootCert: certPEM(t, 2)}
	cl, v, err := alipay.New(cfg, &http.Client{}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if cl.AppCertSN == "" || cl.RootCertSN == "" || len(v.Keys) != 1 || !strings.HasPrefix(v.Keys[0].Name, "cert:") {
		t.Fatalf("client = %+v, verifier keys = %+v", cl, v.Keys)
	}
}

// TestNewBadKeys: every unusable key is named, and no key material is in
// the error.
func TestNewBadKeys(t *testing.T) {
	secret := "S3CRET-S3CRET-S3CRET"
	cfg := alipay.Config{AppID: "2021", AppPrivateKey: []byte("-----BEGIN PRIVATE KEY-----\n" + secret),
		AlipayPublicKey: []byte(secret), AlipayCert: []byte(secret), AppCert: certPEM(t, 0), AlipayRootCert: nil}
	_, _, err := alipay.New(cfg, &http.Client{}, nil)
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), "S3CRET") {
		t.Fatalf("key material in error: %v", err)
	}
	var ke *alipay.KeyError
	if !errors.As(err, &ke) || ke.Key != "AppPrivateKey" || !strings.Contains(ke.Reason, "not an RSA private key") {
		t.Fatalf("err = %v, want a KeyError for AppPrivateKey first", err)
	}
	for _, want := range []string{"AppPrivateKey", "AlipayPublicKey: not an RSA public key", "AlipayCert: no parsable", "AlipayRootCert: no parsable"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to name %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "AppCert:") {
		t.Errorf("err = %v names the good AppCert", err)
	}

	if _, _, err := alipay.New(alipay.Config{AppID: "2021", AppPrivateKey: keyfile.PrivateKeyPEM(providertest.Key(t, 0))}, &http.Client{}, nil); err == nil || !strings.Contains(err.Error(), "AlipayPublicKey: set it") {
		t.Fatalf("no verification key: err = %v", err)
	}
	if _, _, err := alipay.New(cfg, nil, nil); err == nil {
		t.Fatal("nil HTTP client accepted")
	}
}

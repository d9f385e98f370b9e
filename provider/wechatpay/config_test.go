package wechatpay_test

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

	"github.com/payrecon/payrecon/provider/keyfile"
	"github.com/payrecon/payrecon/provider/providertest"
	"github.com/payrecon/payrecon/provider/wechatpay"
)

// certPEM is a self-signed certificate over providertest.Key(t, i) with
// the given serial.
func certPEM(t *testing.T, i int, serial int64) []byte {
	t.Helper()
	k := providertest.Key(t, i)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func goodConfig(t *testing.T) wechatpay.Config {
	return wechatpay.Config{Account: "wx", MchID: "1900000001", AppID: "wx01", MerchantSerial: "ABC",
		MerchantPrivateKey: keyfile.PrivateKeyPEM(providertest.Key(t, 0)),
		APIv3Key:           []byte("0123456789abcdef0123456789abcdef\n"),
		PublicKeyID:        "PUB_KEY_ID_0001", PublicKey: keyfile.PublicKeyPEM(&providertest.Key(t, 1).PublicKey),
		PlatformCerts: [][]byte{certPEM(t, 2, 0xABC1)}}
}

func TestNewDefaults(t *testing.T) {
	hc := &http.Client{}
	cl, v, err := wechatpay.New(goodConfig(t), hc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cl.BaseURL != wechatpay.DefaultBaseURL || cl.HTTP != hc || cl.MchID != "1900000001" || cl.Serial != "ABC" || cl.Key == nil || cl.Verifier != v {
		t.Fatalf("client = %+v", cl)
	}
	if v.Account != "wx" || v.AppID != "wx01" || v.Now == nil || string(v.APIv3Key) != "0123456789abcdef0123456789abcdef" || v.APIv2Key != nil {
		t.Fatalf("verifier = %+v", v)
	}
	if v.Keys["PUB_KEY_ID_0001"] == nil || v.Keys["ABC1"] == nil || len(v.Keys) != 2 {
		t.Fatalf("verifier keys = %v", v.Keys)
	}

	cfg := goodConfig(t)
	cfg.BaseURL, cfg.APIv2Key = "http://127.0.0.1:1", []byte("0123456789abcdef0123456789abcdef")
	if cl, v, err = wechatpay.New(cfg, hc, time.Now); err != nil || cl.BaseURL != cfg.BaseURL || len(v.APIv2Key) != 32 {
		t.Fatalf("base URL = %q, APIv2 key %d bytes, %v", cl.BaseURL, len(v.APIv2Key), err)
	}
}

// TestNewBadKeys: every unusable key is named, and no key material is in
// the error.
func TestNewBadKeys(t *testing.T) {
	secret := "S3CRET-S3CRET-S3CRET-S3CRET-31b" // 31 bytes
	cfg := goodConfig(t)
	cfg.MerchantPrivateKey = []byte("-----BEGIN PRIVATE KEY-----\n" + secret)
	cfg.APIv3Key = []byte(secret)
	cfg.PublicKey = []byte(secret)
	cfg.PlatformCerts = append(cfg.PlatformCerts, []byte(secret))
	cfg.APIv2Key = []byte(secret)
	_, _, err := wechatpay.New(cfg, &http.Client{}, nil)
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), "S3CRET") {
		t.Fatalf("key material in error: %v", err)
	}
	var ke *wechatpay.KeyError
	if !errors.As(err, &ke) || ke.Key != "MerchantPrivateKey" {
		t.Fatalf("err = %v, want a KeyError for MerchantPrivateKey first", err)
	}
	for _, want := range []string{
		"MerchantPrivateKey: not an RSA private key",
		"APIv3Key: the APIv3 key must be exactly 32 bytes (got 31)",
		"PublicKey: not an RSA public key",
		"PlatformCerts[1]: no parsable certificate",
		"APIv2Key: the APIv2 key must be exactly 32 bytes (got 31)",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to contain %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "PlatformCerts[0]") {
		t.Errorf("err = %v names the good certificate", err)
	}
}

package keyfile_test

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon/provider/keyfile"
	"github.com/payrecon/payrecon/provider/providertest"
)

func TestFormats(t *testing.T) {
	k := providertest.Key(t, 0)
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	pkcs8 := keyfile.PrivateKeyPEM(k)
	b64priv := base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PrivateKey(k))
	for name, data := range map[string][]byte{"PKCS#1 PEM": pkcs1, "PKCS#8 PEM": pkcs8, "bare base64 PKCS#1": []byte(b64priv)} {
		got, err := keyfile.ParsePrivateKey(data)
		if err != nil || !got.Equal(k) {
			t.Errorf("private %s: %v", name, err)
		}
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "x"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	b64 := keyfile.PublicKeyBase64(&k.PublicKey)
	wrapped := strings.Join([]string{b64[:64], b64[64:128], b64[128:]}, "\n")
	for name, data := range map[string][]byte{
		"PKIX PEM":    keyfile.PublicKeyPEM(&k.PublicKey),
		"PKCS#1 PEM":  pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&k.PublicKey)}),
		"certificate": certPEM,
		"bare base64": []byte(b64 + "\n"),
		"wrapped b64": []byte(wrapped),
	} {
		got, err := keyfile.ParsePublicKey(data)
		if err != nil || !got.Equal(&k.PublicKey) {
			t.Errorf("public %s: %v", name, err)
		}
	}
	if cs, err := keyfile.ParseCertificates(append(append([]byte("junk\n"), certPEM...), certPEM...)); err != nil || len(cs) != 2 {
		t.Errorf("certificates: %d %v", len(cs), err)
	}
}

func TestGarbage(t *testing.T) {
	for _, data := range []string{"", "hello", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "TUlJQg=="} {
		if _, err := keyfile.ParsePrivateKey([]byte(data)); !errors.Is(err, keyfile.ErrNoKey) {
			t.Errorf("private %q: %v", data, err)
		}
		if _, err := keyfile.ParsePublicKey([]byte(data)); !errors.Is(err, keyfile.ErrNoKey) {
			t.Errorf("public %q: %v", data, err)
		}
		if _, err := keyfile.ParseCertificates([]byte(data)); err == nil {
			t.Errorf("certificates %q accepted", data)
		}
	}
}

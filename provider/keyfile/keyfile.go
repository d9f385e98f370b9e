// Package keyfile reads the RSA keys and certificates that Alipay and WeChat
// Pay hand to merchants: PEM (PKCS#1, PKCS#8, PKIX, X.509 certificates) and
// Alipay's bare base64 key text. Errors never contain key material.
package keyfile

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
)

// ErrNoKey is returned when data holds no usable key of the wanted kind.
var ErrNoKey = errors.New("no RSA key found")

// ReadFile reads a key file, naming the path (never the contents) in errors.
func ReadFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	return b, nil
}

// ParsePrivateKey parses an RSA private key in PEM (PKCS#1 or PKCS#8) or as
// Alipay's bare base64 of the DER (PKCS#1 or PKCS#8).
func ParsePrivateKey(data []byte) (*rsa.PrivateKey, error) {
	for _, der := range ders(data) {
		if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
			return k, nil
		}
		if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
			if rk, ok := k.(*rsa.PrivateKey); ok {
				return rk, nil
			}
			return nil, fmt.Errorf("private key: %w: not RSA", ErrNoKey)
		}
	}
	return nil, fmt.Errorf("private key: %w", ErrNoKey)
}

// ParsePublicKey parses an RSA public key from PEM PUBLIC KEY (PKIX), RSA
// PUBLIC KEY (PKCS#1), a CERTIFICATE (its key; the first RSA certificate of
// a chain), or bare base64 of the PKIX DER as the Alipay console shows it.
func ParsePublicKey(data []byte) (*rsa.PublicKey, error) {
	for _, der := range ders(data) {
		if k, err := x509.ParsePKIXPublicKey(der); err == nil {
			if rk, ok := k.(*rsa.PublicKey); ok {
				return rk, nil
			}
			continue
		}
		if k, err := x509.ParsePKCS1PublicKey(der); err == nil {
			return k, nil
		}
		if c, err := x509.ParseCertificate(der); err == nil {
			if rk, ok := c.PublicKey.(*rsa.PublicKey); ok {
				return rk, nil
			}
		}
	}
	return nil, fmt.Errorf("public key: %w", ErrNoKey)
}

// ParseCertificates returns every certificate in a PEM bundle that Go can
// parse, in file order. Certificates Go cannot parse (Alipay's root bundle
// holds an SM2 one) are skipped; an empty result is an error.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			continue
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("certificates: no parsable certificate")
	}
	return certs, nil
}

// ders returns the DER blobs in data: each PEM block, or the base64 text
// itself when data is not PEM.
func ders(data []byte) [][]byte {
	var out [][]byte
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		out = append(out, b.Bytes)
	}
	if len(out) > 0 {
		return out
	}
	s := strings.Join(strings.Fields(string(data)), "")
	if der, err := base64.StdEncoding.DecodeString(s); err == nil {
		out = append(out, der)
	}
	return out
}

// PrivateKeyPEM encodes k as PKCS#8 PEM.
func PrivateKeyPEM(k *rsa.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil { // cannot happen for a valid RSA key
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// PublicKeyPEM encodes k as PKIX PEM.
func PublicKeyPEM(k *rsa.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// PublicKeyBase64 encodes k as the bare base64 PKIX text the Alipay console shows.
func PublicKeyBase64(k *rsa.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

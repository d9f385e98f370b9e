package alipay

import (
	"crypto"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// SignType is Alipay's sign_type: RSA2 (SHA256withRSA) or the legacy RSA
// (SHA1withRSA).
type SignType string

// The sign types Alipay uses.
const (
	RSA2 SignType = "RSA2"
	RSA  SignType = "RSA"
)

func (t SignType) hash() (crypto.Hash, error) {
	switch t {
	case RSA2, "":
		return crypto.SHA256, nil
	case RSA:
		return crypto.SHA1, nil
	}
	return 0, fmt.Errorf("unsupported sign_type %q", string(t))
}

// SignContent builds the string Alipay signs: every parameter with a
// non-empty value except sign (and, unless keepSignType, sign_type), sorted
// by key in byte order, joined as k=v&k=v with no escaping. Values are used
// exactly as decoded once from the form: never decode them a second time.
func SignContent(params url.Values, keepSignType bool) string {
	keys := make([]string, 0, len(params))
	for k, v := range params {
		if k == "sign" || (k == "sign_type" && !keepSignType) || len(v) == 0 || v[0] == "" {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(params[k][0])
	}
	return b.String()
}

// Sign signs content (its bytes as given: UTF-8, or GBK for a GBK message)
// and returns the base64 signature.
func Sign(key *rsa.PrivateKey, t SignType, content []byte) (string, error) {
	h, err := t.hash()
	if err != nil {
		return "", err
	}
	sum := digest(h, content)
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, h, sum)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// Verify checks a base64 signature over content.
func Verify(key *rsa.PublicKey, t SignType, content []byte, sig string) error {
	h, err := t.hash()
	if err != nil {
		return err
	}
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return fmt.Errorf("decode sign: %w", err)
	}
	return rsa.VerifyPKCS1v15(key, h, digest(h, content), raw)
}

func digest(h crypto.Hash, b []byte) []byte {
	if h == crypto.SHA1 {
		s := sha1.Sum(b)
		return s[:]
	}
	s := sha256.Sum256(b)
	return s[:]
}

// CertSN is Alipay's certificate serial: lowercase hex MD5 of the issuer DN
// (RFC 2253, as Go's pkix.Name.String writes it) followed by the decimal
// serial number.
func CertSN(c *x509.Certificate) string {
	sum := md5.Sum([]byte(c.Issuer.String() + c.SerialNumber.String()))
	return hex.EncodeToString(sum[:])
}

// RootCertSN is alipay_root_cert_sn: the SNs of the RSA-signed certificates
// in the root bundle, in file order, joined with "_".
func RootCertSN(certs []*x509.Certificate) string {
	var sns []string
	for _, c := range certs {
		switch c.SignatureAlgorithm {
		case x509.SHA1WithRSA, x509.SHA256WithRSA, x509.SHA384WithRSA, x509.SHA512WithRSA, x509.MD5WithRSA:
			sns = append(sns, CertSN(c))
		}
	}
	return strings.Join(sns, "_")
}

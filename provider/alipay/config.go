package alipay

import (
	"crypto/rsa"
	"errors"
	"net/http"
	"time"

	"github.com/payrecon/payrecon/provider/keyfile"
)

// DefaultGateway is the production open-platform gateway, used when
// [Config.Gateway] is empty.
const DefaultGateway = "https://openapi.alipay.com/gateway.do"

// Config is one Alipay app as [New] builds it. Keys are the contents of the
// files Alipay hands out: PEM (PKCS#1, PKCS#8, PKIX, X.509 certificates) or
// the bare base64 key text the console shows.
type Config struct {
	// Account is payrecon's name for the app; notifications carry it.
	Account string
	AppID   string
	// SellerID is optional; when set, notifications for other sellers are
	// rejected.
	SellerID string
	// Gateway defaults to [DefaultGateway].
	Gateway string
	// AppPrivateKey signs requests.
	AppPrivateKey []byte
	// AlipayPublicKey verifies responses and notifications (public-key
	// mode).
	AlipayPublicKey []byte
	// AppCert, AlipayCert and AlipayRootCert are certificate mode: set
	// AlipayCert to use it, and then the other two as well.
	AppCert, AlipayCert, AlipayRootCert []byte
}

// KeyError names the key in [Config] that cannot be used, and why. It never
// holds key material.
type KeyError struct {
	Key    string // the Config field, such as "AppPrivateKey"
	Reason string
}

func (e *KeyError) Error() string { return "alipay: " + e.Key + ": " + e.Reason }

// New parses cfg's keys and returns the API client and the notification
// verifier for the app; both check signatures with the same Alipay keys.
// now is the clock for request timestamps (time.Now when nil). Every key
// problem is reported, each as a [*KeyError], joined.
func New(cfg Config, hc *http.Client, now func() time.Time) (*Client, *Verifier, error) {
	if hc == nil {
		return nil, nil, errors.New("alipay: new: no HTTP client")
	}
	if cfg.AppID == "" {
		return nil, nil, errors.New("alipay: new: no app id")
	}
	if now == nil {
		now = time.Now
	}
	var errs []error
	fail := func(key, reason string) { errs = append(errs, &KeyError{Key: key, Reason: reason}) }
	v := &Verifier{Account: cfg.Account, AppID: cfg.AppID, SellerID: cfg.SellerID}
	cl := &Client{AppID: cfg.AppID, Gateway: cfg.Gateway, HTTP: hc, Now: now}
	if cl.Gateway == "" {
		cl.Gateway = DefaultGateway
	}
	k, err := keyfile.ParsePrivateKey(cfg.AppPrivateKey)
	if err != nil {
		fail("AppPrivateKey", "not an RSA private key (PEM PKCS#1/PKCS#8 or base64)")
	}
	cl.Key = k
	if cfg.AlipayPublicKey == nil && cfg.AlipayCert == nil {
		fail("AlipayPublicKey", "set it (public-key mode) or AlipayCert (certificate mode)")
	}
	if cfg.AlipayPublicKey != nil {
		if k, err := keyfile.ParsePublicKey(cfg.AlipayPublicKey); err != nil {
			fail("AlipayPublicKey", "not an RSA public key or certificate")
		} else {
			v.Keys = append(v.Keys, Key{Name: "public-key", Pub: k})
		}
	}
	if cfg.AlipayCert != nil {
		if cs, err := keyfile.ParseCertificates(cfg.AlipayCert); err != nil {
			fail("AlipayCert", "no parsable certificate")
		} else if k, ok := cs[0].PublicKey.(*rsa.PublicKey); !ok {
			fail("AlipayCert", "certificate key is not RSA")
		} else {
			v.Keys = append(v.Keys, Key{Name: "cert:" + CertSN(cs[0]), Pub: k})
		}
		if cs, err := keyfile.ParseCertificates(cfg.AppCert); err != nil {
			fail("AppCert", "no parsable certificate")
		} else {
			cl.AppCertSN = CertSN(cs[0])
		}
		if cs, err := keyfile.ParseCertificates(cfg.AlipayRootCert); err != nil {
			fail("AlipayRootCert", "no parsable certificate")
		} else {
			cl.RootCertSN = RootCertSN(cs)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	cl.Keys = v.Keys
	return cl, v, nil
}

package wechatpay

import (
	"bytes"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/payrecon/payrecon/provider/keyfile"
)

// DefaultBaseURL is the production APIv3 host, used when [Config.BaseURL]
// is empty.
const DefaultBaseURL = "https://api.mch.weixin.qq.com"

// Config is one WeChat Pay merchant as [New] builds it. Keys are the
// contents of the files WeChat Pay hands out (PEM); a nil key is one not
// configured.
type Config struct {
	// Account is payrecon's name for the merchant; notifications carry it.
	Account string
	MchID   string
	// AppID and AppIDs are optional: when either is set, notifications
	// for an app that is neither are rejected. One merchant number commonly
	// serves several apps (a mini-program, an official account, an app).
	AppID  string
	AppIDs []string
	// BaseURL defaults to [DefaultBaseURL].
	BaseURL string
	// MerchantSerial is the serial of the merchant API certificate.
	MerchantSerial     string
	MerchantPrivateKey []byte
	// APIv3Key is the 32-byte APIv3 key (a trailing newline is ignored).
	APIv3Key []byte
	// PublicKeyID (PUB_KEY_ID_…) and PublicKey are public-key mode.
	PublicKeyID string
	PublicKey   []byte
	// PlatformCerts are platform certificates, each keyed by its serial.
	// Both modes may be configured at once.
	PlatformCerts [][]byte
	// APIv2Key, when set, enables legacy APIv2 XML callbacks.
	APIv2Key []byte
}

// KeyError names the key in [Config] that cannot be used, and why. It never
// holds key material.
type KeyError struct {
	Key    string // the Config field, such as "APIv3Key"
	Index  int    // which entry of PlatformCerts; 0 otherwise
	Reason string
}

func (e *KeyError) Error() string {
	if e.Key == "PlatformCerts" {
		return fmt.Sprintf("wechatpay: %s[%d]: %s", e.Key, e.Index, e.Reason)
	}
	return "wechatpay: " + e.Key + ": " + e.Reason
}

// New parses cfg's keys and returns the API client and the notification
// verifier for the merchant (the client verifies responses with the same
// verifier, which is also its Verifier field). now is the clock for request
// timestamps and the callbacks' skew check (time.Now when nil). Every key
// problem is reported, each as a [*KeyError], joined.
func New(cfg Config, hc *http.Client, now func() time.Time) (*Client, *Verifier, error) {
	switch {
	case hc == nil:
		return nil, nil, errors.New("wechatpay: new: no HTTP client")
	case cfg.MchID == "":
		return nil, nil, errors.New("wechatpay: new: no mchid")
	case cfg.MerchantSerial == "":
		return nil, nil, errors.New("wechatpay: new: no merchant serial")
	}
	if now == nil {
		now = time.Now
	}
	var errs []error
	fail := func(key string, i int, reason string) {
		errs = append(errs, &KeyError{Key: key, Index: i, Reason: reason})
	}
	v := &Verifier{Account: cfg.Account, MchID: cfg.MchID, AppID: cfg.AppID, AppIDs: cfg.AppIDs, Now: now, Keys: map[string]*rsa.PublicKey{}}
	mchKey, err := keyfile.ParsePrivateKey(cfg.MerchantPrivateKey)
	if err != nil {
		fail("MerchantPrivateKey", 0, "not an RSA private key (PEM PKCS#1/PKCS#8 or base64)")
	}
	if k := bytes.TrimRight(cfg.APIv3Key, "\r\n"); len(k) != 32 {
		fail("APIv3Key", 0, fmt.Sprintf("the APIv3 key must be exactly 32 bytes (got %d)", len(k)))
	} else {
		v.APIv3Key = k
	}
	if cfg.PublicKey == nil && len(cfg.PlatformCerts) == 0 {
		fail("PublicKey", 0, "set it (with PublicKeyID) or PlatformCerts")
	}
	if cfg.PublicKey != nil {
		if k, err := keyfile.ParsePublicKey(cfg.PublicKey); err != nil {
			fail("PublicKey", 0, "not an RSA public key or certificate")
		} else if !strings.HasPrefix(cfg.PublicKeyID, "PUB_KEY_ID_") {
			fail("PublicKey", 0, "needs a PublicKeyID of the form PUB_KEY_ID_…")
		} else {
			v.Keys[cfg.PublicKeyID] = k
		}
	}
	for i, b := range cfg.PlatformCerts {
		cs, err := keyfile.ParseCertificates(b)
		if err != nil {
			fail("PlatformCerts", i, "no parsable certificate")
			continue
		}
		k, ok := cs[0].PublicKey.(*rsa.PublicKey)
		if !ok {
			fail("PlatformCerts", i, "certificate key is not RSA")
			continue
		}
		v.Keys[strings.ToUpper(cs[0].SerialNumber.Text(16))] = k
	}
	if cfg.APIv2Key != nil {
		if k := bytes.TrimRight(cfg.APIv2Key, "\r\n"); len(k) != 32 {
			fail("APIv2Key", 0, fmt.Sprintf("the APIv2 key must be exactly 32 bytes (got %d)", len(k)))
		} else {
			v.APIv2Key = k
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	cl := &Client{MchID: cfg.MchID, Serial: cfg.MerchantSerial, Key: mchKey, BaseURL: base, Verifier: v, HTTP: hc}
	if cfg.PublicKey != nil {
		cl.PublicKeyID = cfg.PublicKeyID
	}
	return cl, v, nil
}

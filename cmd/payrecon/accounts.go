package main

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/config"
	"github.com/payrecon/payrecon/notify"
	"github.com/payrecon/payrecon/provider"
	"github.com/payrecon/payrecon/provider/alipay"
	"github.com/payrecon/payrecon/provider/wechatpay"
)

// Account is a configured account with its keys loaded.
type Account struct {
	Config   config.Account
	Provider payrecon.Provider
	// Verifier checks the account's notifications.
	Verifier notify.Verifier
	// Client calls the provider's APIs (queries, bills).
	Client provider.Client
}

// loadAccounts reads every key file and builds each account's verifier and client
// with the provider package's constructor. now is the providers' clock
// (request timestamps, WeChat Pay's callback skew check). Every problem is
// reported, joined, each naming its field.
func loadAccounts(c *config.Config, getenv func(string) string, now func() time.Time, hc *http.Client) ([]Account, error) {
	var out []Account
	var errs []error
	for i, a := range c.Accounts {
		keys := &keyReader{c: c, getenv: getenv, prefix: fmt.Sprintf("accounts[%d].", i)}
		var acct Account
		var err error
		switch payrecon.Provider(a.Provider) {
		case payrecon.Alipay:
			acct, err = newAlipayAccount(a, keys, hc, now)
		case payrecon.WeChatPay:
			acct, err = newWeChatPayAccount(a, keys, hc, now)
		default:
			err = config.FieldErr(keys.prefix+"provider", "want alipay or wechatpay (got %q)", a.Provider)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, acct)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// keyReader reads one account's key files, keeping every failure.
type keyReader struct {
	c      *config.Config
	getenv func(string) string
	prefix string // "accounts[i]."
	errs   []error
}

// read returns the key named by the config field, or nil when the field is
// not set or the key cannot be read.
func (r *keyReader) read(field, value string) []byte {
	if value == "" {
		return nil
	}
	b, err := r.c.Secret(r.prefix+field, value, r.getenv)
	if err != nil {
		r.errs = append(r.errs, err)
	}
	return b
}

// fieldErrs turns a provider constructor's joined errors into field
// errors: asField maps a key error to the config field it names and its
// reason.
func (r *keyReader) fieldErrs(err error, asField func(error) (field, reason string, ok bool)) error {
	var errs []error
	for _, e := range unjoin(err) {
		if field, reason, ok := asField(e); ok {
			errs = append(errs, config.FieldErr(r.prefix+field, "%s", reason))
		} else {
			errs = append(errs, fmt.Errorf("%s: %w", strings.TrimSuffix(r.prefix, "."), e))
		}
	}
	return errors.Join(errs...)
}

// unjoin returns the errors an errors.Join holds, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func newAlipayAccount(a config.Account, keys *keyReader, hc *http.Client, now func() time.Time) (Account, error) {
	cfg := alipay.Config{Account: a.Name, AppID: a.AppID, SellerID: a.SellerID, Gateway: a.Gateway,
		AppPrivateKey:   keys.read("app_private_key_file", a.AppPrivateKeyFile),
		AlipayPublicKey: keys.read("alipay_public_key_file", a.AlipayPublicKeyFile)}
	if a.AlipayCertFile != "" {
		cfg.AlipayCert = keys.read("alipay_cert_file", a.AlipayCertFile)
		cfg.AppCert = keys.read("app_cert_file", a.AppCertFile)
		cfg.AlipayRootCert = keys.read("alipay_root_cert_file", a.AlipayRootCertFile)
	}
	if len(keys.errs) > 0 {
		return Account{}, errors.Join(keys.errs...)
	}
	cl, v, err := alipay.New(cfg, hc, now)
	if err != nil {
		return Account{}, keys.fieldErrs(err, func(e error) (string, string, bool) {
			var ke *alipay.KeyError
			if !errors.As(e, &ke) {
				return "", "", false
			}
			field, ok := map[string]string{"AppPrivateKey": "app_private_key_file", "AlipayPublicKey": "alipay_public_key_file",
				"AlipayCert": "alipay_cert_file", "AppCert": "app_cert_file", "AlipayRootCert": "alipay_root_cert_file"}[ke.Key]
			return field, ke.Reason, ok
		})
	}
	return Account{Config: a, Provider: payrecon.Alipay, Verifier: notify.AlipayVerifier{V: v}, Client: cl}, nil
}

func newWeChatPayAccount(a config.Account, keys *keyReader, hc *http.Client, now func() time.Time) (Account, error) {
	cfg := wechatpay.Config{Account: a.Name, MchID: a.MchID, AppID: a.WxAppID, AppIDs: a.WxAppIDs, BaseURL: a.BaseURL, MerchantSerial: a.MerchantSerial,
		MerchantPrivateKey: keys.read("merchant_private_key_file", a.MerchantPrivateKeyFile),
		APIv3Key:           keys.read("apiv3_key_file", a.APIv3KeyFile),
		PublicKeyID:        a.WechatpayPublicKeyID,
		PublicKey:          keys.read("wechatpay_public_key_file", a.WechatpayPublicKeyFile),
		APIv2Key:           keys.read("apiv2_key_file", a.APIv2KeyFile)}
	for j, p := range a.PlatformCertFiles {
		cfg.PlatformCerts = append(cfg.PlatformCerts, keys.read(fmt.Sprintf("platform_cert_files[%d]", j), p))
	}
	if len(keys.errs) > 0 {
		return Account{}, errors.Join(keys.errs...)
	}
	cl, v, err := wechatpay.New(cfg, hc, now)
	if err != nil {
		return Account{}, keys.fieldErrs(err, func(e error) (string, string, bool) {
			var ke *wechatpay.KeyError
			if !errors.As(e, &ke) {
				return "", "", false
			}
			if ke.Key == "PlatformCerts" {
				return fmt.Sprintf("platform_cert_files[%d]", ke.Index), ke.Reason, true
			}
			field, ok := map[string]string{"MerchantPrivateKey": "merchant_private_key_file", "APIv3Key": "apiv3_key_file",
				"PublicKey": "wechatpay_public_key_file", "APIv2Key": "apiv2_key_file"}[ke.Key]
			return field, ke.Reason, ok
		})
	}
	return Account{Config: a, Provider: payrecon.WeChatPay, Verifier: v, Client: cl}, nil
}

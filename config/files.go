package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// File is one file the config names: the field that names it, the value
// (a path, or env:NAME), and whether it holds a secret (a private key, a
// symmetric key, a token, a password, a signing secret or a URL that
// carries one).
type File struct {
	Field, Value string
	Secret       bool
}

// Files lists every file the config names, in config order.
func (c *Config) Files() []File {
	var out []File
	add := func(field, value string, secret bool) {
		if value != "" {
			out = append(out, File{Field: field, Value: value, Secret: secret})
		}
	}
	add("admin.token_file", c.Admin.TokenFile, true)
	for i, op := range c.Admin.Operators {
		add(fmt.Sprintf("admin.operators[%d].token_file", i), op.TokenFile, true)
	}
	add("delivery.smtp.password_file", c.Delivery.SMTP.PasswordFile, true)
	add("delivery.smtp.ca_file", c.Delivery.SMTP.CAFile, false)
	for i, ch := range c.Delivery.Channels {
		add(fmt.Sprintf("delivery.channels[%d].url_file", i), ch.URLFile, true)
		add(fmt.Sprintf("delivery.channels[%d].secret_file", i), ch.SecretFile, true)
	}
	for i, fw := range c.Forward {
		add(fmt.Sprintf("forward[%d].secret_file", i), fw.SecretFile, true)
	}
	for i, a := range c.Accounts {
		p := fmt.Sprintf("accounts[%d].", i)
		add(p+"app_private_key_file", a.AppPrivateKeyFile, true)
		add(p+"alipay_public_key_file", a.AlipayPublicKeyFile, false)
		add(p+"app_cert_file", a.AppCertFile, false)
		add(p+"alipay_cert_file", a.AlipayCertFile, false)
		add(p+"alipay_root_cert_file", a.AlipayRootCertFile, false)
		add(p+"merchant_private_key_file", a.MerchantPrivateKeyFile, true)
		add(p+"apiv3_key_file", a.APIv3KeyFile, true)
		add(p+"wechatpay_public_key_file", a.WechatpayPublicKeyFile, false)
		for j, cf := range a.PlatformCertFiles {
			add(fmt.Sprintf("%splatform_cert_files[%d]", p, j), cf, false)
		}
		add(p+"apiv2_key_file", a.APIv2KeyFile, true)
	}
	return out
}

// CheckFiles opens every file the config names and returns every problem
// at once (each naming its field, never the content), and a warning for
// each secret file that users other than its owner may read.
func (c *Config) CheckFiles(getenv func(string) string) (warnings []string, err error) {
	var errs []error
	for _, f := range c.Files() {
		if _, err := c.Secret(f.Field, f.Value, getenv); err != nil {
			errs = append(errs, err)
			continue
		}
		if strings.HasPrefix(f.Value, "env:") || !f.Secret {
			continue
		}
		if st, err := os.Stat(c.Path(f.Value)); err == nil && st.Mode().Perm()&0o077 != 0 {
			warnings = append(warnings, fmt.Sprintf("%s: %s is readable by other users (mode %s); chmod 600 it", f.Field, c.Path(f.Value), fmtMode(st.Mode())))
		}
	}
	return warnings, errors.Join(errs...)
}

func fmtMode(m fs.FileMode) string { return fmt.Sprintf("%04o", m.Perm()) }

package config

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/payrecon/payrecon"
)

// Validate checks the values that need no file access. Values were parsed
// when the file was read; this checks their ranges and how they combine.
// Every problem is reported, joined.
func (c *Config) Validate() error {
	var errs []error
	errs = append(errs, c.validateServer()...)
	errs = append(errs, c.Reconcile.validate()...)
	errs = append(errs, c.Delivery.validate()...)
	errs = append(errs, c.Sweep.validate()...)
	errs = append(errs, c.Limits.validate()...)
	errs = append(errs, c.validateForward()...)
	errs = append(errs, c.validateReview()...)
	if len(c.Accounts) == 0 {
		errs = append(errs, FieldErr("accounts", "at least one account is required"))
	}
	names := namePattern()
	seen := map[string]bool{}
	for i, a := range c.Accounts {
		f := func(name string) string { return fmt.Sprintf("accounts[%d].%s", i, name) }
		if !names.MatchString(a.Name) {
			errs = append(errs, FieldErr(f("name"), "want letters, digits, '.', '_' or '-' (got %q)", a.Name))
		}
		if seen[a.Name] {
			errs = append(errs, FieldErr(f("name"), "duplicate account %q", a.Name))
		}
		seen[a.Name] = true
		if len(a.EmailTo) > 0 && c.Delivery.SMTP.Host == "" {
			errs = append(errs, FieldErr(f("email_to"), "needs delivery.smtp.host"))
		}
		errs = append(errs, a.validate(f)...)
	}
	return errors.Join(errs...)
}

// namePattern matches account and channel names.
func namePattern() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`) }

// validateServer checks the process-wide values: addresses, paths, zone,
// logging and limits.
func (c *Config) validateServer() []error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, FieldErr("listen", "want host:port (got %q)", c.Listen))
	}
	if c.Admin.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Admin.Listen); err != nil {
			errs = append(errs, FieldErr("admin.listen", "want host:port (got %q)", c.Admin.Listen))
		}
	}
	switch {
	case IsDatabaseURL(c.Database):
		if _, err := url.Parse(c.Database); err != nil { // the error would quote the URL and its password
			errs = append(errs, FieldErr("database", "unparsable postgres:// URL"))
		}
	case strings.HasPrefix(c.Database, "env:"):
		if strings.TrimPrefix(c.Database, "env:") == "" {
			errs = append(errs, FieldErr("database", "env: needs a variable name"))
		}
	case strings.Contains(c.Database, "://"): // not quoted: a URL may carry a password
		errs = append(errs, FieldErr("database", "want a file path, a postgres:// URL or env:NAME (got a URL of another scheme)"))
	case c.Database == "" || strings.Contains(c.Database, ":memory:"):
		errs = append(errs, FieldErr("database", "want a file path, a postgres:// URL or env:NAME (got %q)", c.Database))
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil {
		errs = append(errs, FieldErr("timezone", "unknown time zone %q", c.Timezone))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, FieldErr("log_format", "want text or json (got %q)", c.LogFormat))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, FieldErr("log_level", "want debug, info, warn or error (got %q)", c.LogLevel))
	}
	if c.MaxBodyBytes < 1024 || c.MaxBodyBytes > 16<<20 {
		errs = append(errs, FieldErr("max_body_bytes", "want 1024 to 16777216 (got %d)", c.MaxBodyBytes))
	}
	if c.Reports.Locale != "zh" && c.Reports.Locale != "en" {
		errs = append(errs, FieldErr("reports.locale", "want zh or en (got %q)", c.Reports.Locale))
	}
	if c.Reports.Dir == "" {
		errs = append(errs, FieldErr("reports.dir", "required"))
	}
	if c.ArchiveDir == "" {
		errs = append(errs, FieldErr("archive_dir", "required"))
	}
	return errs
}

func (rc Reconcile) validate() []error {
	var errs []error
	if err := validSchedule(rc.Schedule); err != nil {
		errs = append(errs, FieldErr("reconcile.schedule", "%v", err))
	}
	if rc.HoldDays < 0 || rc.HoldDays > 31 {
		errs = append(errs, FieldErr("reconcile.hold_days", "want 0 to 31 (got %d)", rc.HoldDays))
	}
	if rc.CatchUpDays < 0 || rc.CatchUpDays > 90 {
		errs = append(errs, FieldErr("reconcile.catch_up_days", "want 0 to 90 (got %d)", rc.CatchUpDays))
	}
	for _, d := range []struct {
		name string
		v    Duration
	}{{"reconcile.bill_retry_interval", rc.BillRetryInterval}, {"reconcile.bill_deadline", rc.BillDeadline}, {"reconcile.query_interval", rc.QueryInterval}} {
		if d.v < 0 {
			errs = append(errs, FieldErr(d.name, "want a duration of 0 or more (got %s)", d.v))
		}
	}
	return errs
}

func (s Sweep) validate() []error {
	if s.Interval <= 0 {
		return []error{FieldErr("sweep.interval", "want a duration above 0 (got %s)", s.Interval)}
	}
	return nil
}

func (d Delivery) validate() []error {
	var errs []error
	if sm := d.SMTP; sm.Host != "" {
		if sm.Port <= 0 || sm.Port > 65535 {
			errs = append(errs, FieldErr("delivery.smtp.port", "want 1 to 65535 (got %d)", sm.Port))
		}
		switch sm.TLS {
		case "starttls", "tls", "none":
		default:
			errs = append(errs, FieldErr("delivery.smtp.tls", "want starttls, tls or none (got %q)", sm.TLS))
		}
		if _, err := mail.ParseAddress(sm.From); err != nil {
			errs = append(errs, FieldErr("delivery.smtp.from", "not an e-mail address (got %q)", sm.From))
		}
		if sm.Username != "" && sm.PasswordFile == "" {
			errs = append(errs, FieldErr("delivery.smtp.password_file", "required with username"))
		}
	}
	names := map[string]bool{}
	valid := namePattern()
	for i, ch := range d.Channels {
		f := func(n string) string { return fmt.Sprintf("delivery.channels[%d].%s", i, n) }
		if !valid.MatchString(ch.Name) || ch.Name == "email" {
			errs = append(errs, FieldErr(f("name"), "want letters, digits, '.', '_' or '-', not \"email\" (got %q)", ch.Name))
		}
		if names[ch.Name] {
			errs = append(errs, FieldErr(f("name"), "duplicate channel %q", ch.Name))
		}
		names[ch.Name] = true
		switch ch.Type {
		case "dingtalk", "wecom", "feishu", "slack", "webhook":
		default:
			errs = append(errs, FieldErr(f("type"), "want dingtalk, wecom, feishu, slack or webhook (got %q)", ch.Type))
		}
		if (ch.URL == "") == (ch.URLFile == "") {
			errs = append(errs, FieldErr(f("url"), "set url or url_file"))
		}
	}
	for i, n := range d.Alerts.Channels {
		if !names[n] {
			errs = append(errs, FieldErr(fmt.Sprintf("delivery.alerts.channels[%d]", i), "no channel named %q", n))
		}
	}
	if d.Alerts.RejectedWindow <= 0 {
		errs = append(errs, FieldErr("delivery.alerts.rejected_window", "want a duration above 0 (got %s)", d.Alerts.RejectedWindow))
	}
	if d.Alerts.DedupWindow <= 0 {
		errs = append(errs, FieldErr("delivery.alerts.dedup_window", "want a duration above 0 (got %s)", d.Alerts.DedupWindow))
	}
	return errs
}

// validate checks one account's own fields; f names a field of it.
func (a Account) validate(f func(string) string) []error {
	var errs []error
	if a.Schedule != "" {
		if err := validSchedule(a.Schedule); err != nil {
			errs = append(errs, FieldErr(f("schedule"), "%v", err))
		}
	}
	for j, addr := range a.EmailTo {
		if _, err := mail.ParseAddress(addr); err != nil {
			errs = append(errs, FieldErr(fmt.Sprintf("%s[%d]", f("email_to"), j), "not an e-mail address (got %q)", addr))
		}
	}
	switch payrecon.Provider(a.Provider) {
	case payrecon.Alipay:
		errs = append(errs, a.validateAlipay(f)...)
	case payrecon.WeChatPay:
		errs = append(errs, a.validateWeChatPay(f)...)
	default:
		errs = append(errs, FieldErr(f("provider"), "want alipay or wechatpay (got %q)", a.Provider))
	}
	return errs
}

func (a Account) validateAlipay(f func(string) string) []error {
	errs := required(f, a.Provider, "app_id", a.AppID, "app_private_key_file", a.AppPrivateKeyFile)
	if a.AlipayPublicKeyFile == "" && a.AlipayCertFile == "" {
		errs = append(errs, FieldErr(f("alipay_public_key_file"), "set it (public-key mode) or alipay_cert_file (certificate mode)"))
	}
	if a.AlipayCertFile != "" && (a.AppCertFile == "" || a.AlipayRootCertFile == "") {
		errs = append(errs, FieldErr(f("alipay_cert_file"), "certificate mode also needs app_cert_file and alipay_root_cert_file"))
	}
	for _, field := range []struct{ name, v string }{{"mchid", a.MchID}, {"appid", a.WxAppID}, {"apiv3_key_file", a.APIv3KeyFile}} {
		if field.v != "" {
			errs = append(errs, FieldErr(f(field.name), "is a WeChat Pay field; this account's provider is alipay"))
		}
	}
	if len(a.WxAppIDs) > 0 {
		errs = append(errs, FieldErr(f("appids"), "is a WeChat Pay field; this account's provider is alipay"))
	}
	return errs
}

func (a Account) validateWeChatPay(f func(string) string) []error {
	errs := required(f, a.Provider, "mchid", a.MchID, "merchant_serial", a.MerchantSerial,
		"merchant_private_key_file", a.MerchantPrivateKeyFile, "apiv3_key_file", a.APIv3KeyFile)
	if a.WechatpayPublicKeyFile == "" && len(a.PlatformCertFiles) == 0 {
		errs = append(errs, FieldErr(f("wechatpay_public_key_file"), "set it (with wechatpay_public_key_id) or platform_cert_files"))
	}
	if (a.WechatpayPublicKeyFile == "") != (a.WechatpayPublicKeyID == "") {
		errs = append(errs, FieldErr(f("wechatpay_public_key_id"), "wechatpay_public_key_id and wechatpay_public_key_file go together"))
	}
	errs = append(errs, a.validateAppIDs(f)...)
	if a.WechatpayPublicKeyID != "" && !strings.HasPrefix(a.WechatpayPublicKeyID, "PUB_KEY_ID_") {
		errs = append(errs, FieldErr(f("wechatpay_public_key_id"), "want PUB_KEY_ID_… (got %q)", a.WechatpayPublicKeyID))
	}
	for _, field := range []struct{ name, v string }{{"app_id", a.AppID}, {"seller_id", a.SellerID}, {"alipay_public_key_file", a.AlipayPublicKeyFile}} {
		if field.v != "" {
			errs = append(errs, FieldErr(f(field.name), "is an Alipay field; this account's provider is wechatpay"))
		}
	}
	return errs
}

// validateAppIDs checks appids: each a non-empty id without spaces, none
// listed twice (counting appid).
func (a Account) validateAppIDs(f func(string) string) []error {
	var errs []error
	seen := map[string]bool{a.WxAppID: a.WxAppID != ""}
	for i, id := range a.WxAppIDs {
		name := f(fmt.Sprintf("appids[%d]", i))
		switch {
		case id == "" || strings.ContainsAny(id, " \t\r\n"):
			errs = append(errs, FieldErr(name, "want an appid such as wx0000000000000001 (got %q)", id))
		case seen[id]:
			errs = append(errs, FieldErr(name, "%s is listed twice (appid and appids together are the merchant's apps)", id))
		}
		seen[id] = true
	}
	return errs
}

// required reports each empty value of the (name, value) pairs.
func required(f func(string) string, provider string, pairs ...string) []error {
	var errs []error
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			errs = append(errs, FieldErr(f(pairs[i]), "required for provider %s", provider))
		}
	}
	return errs
}

// validSchedule checks a cron spec the way the scheduler will parse it.
func validSchedule(spec string) error {
	if spec == "off" {
		return nil
	}
	_, err := cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor).Parse(spec)
	if err != nil {
		return fmt.Errorf("bad cron spec %q: %v", spec, err)
	}
	return nil
}

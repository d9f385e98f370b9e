package main

import (
	"bytes"
	"net/http"
	"net/mail"

	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/payrecon/payrecon/jobs"
	"github.com/robfig/cron/v3"

	"gopkg.in/yaml.v3"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider/alipay"
	"github.com/payrecon/payrecon/provider/keyfile"
	"github.com/payrecon/payrecon/provider/wechatpay"
)

// Config is the YAML configuration file. Field names are a contract: they
// may gain siblings, never change.
type Config struct {
	Listen   string `yaml:"listen"`
	Database string `yaml:"database"`
	Timezone string `yaml:"timezone"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `yaml:"log_level"`
	// MemoryLimit is the Go runtime's soft memory limit ("256MiB", "1GiB",
	// "off"): the garbage collector works harder near it, so a million-row
	// reconciliation stays within it; below it nothing changes.
	MemoryLimit string `yaml:"memory_limit"`
	// MaxBodyBytes caps a notification body (default 64 KiB).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// ArchiveDir keeps every downloaded or imported bill, raw.
	ArchiveDir string          `yaml:"archive_dir"`
	Reports    ReportsConfig   `yaml:"reports"`
	Reconcile  ReconcileConfig `yaml:"reconcile"`
	Delivery   DeliveryConfig  `yaml:"delivery"`
	Sweep      SweepConfig     `yaml:"sweep"`
	Admin      AdminConfig     `yaml:"admin"`
	Accounts   []AccountConfig `yaml:"accounts"`

	dir string // directory of the config file; relative paths resolve here
}

// ReportsConfig configures the daily workbooks.
type ReportsConfig struct {
	Dir    string `yaml:"dir"`
	Locale string `yaml:"locale"` // zh (default) or en
}

// ReconcileConfig configures the daily reconciliation.
type ReconcileConfig struct {
	// Schedule is a cron spec (5 fields, CRON_TZ= prefix allowed); "off"
	// disables scheduling in serve.
	Schedule          string `yaml:"schedule"`
	HoldDays          int    `yaml:"hold_days"`
	BillRetryInterval string `yaml:"bill_retry_interval"`
	BillDeadline      string `yaml:"bill_deadline"`
	CatchUpDays       int    `yaml:"catch_up_days"`
	QueryInterval     string `yaml:"query_interval"`
}

// DeliveryConfig configures e-mail to accountants and alerts to ops.
type DeliveryConfig struct {
	SMTP     SMTPConfig      `yaml:"smtp"`
	Channels []ChannelConfig `yaml:"channels"`
	Alerts   AlertsConfig    `yaml:"alerts"`
}

// SMTPConfig is the mail server the workbooks are sent through.
type SMTPConfig struct {
	Host         string `yaml:"host"`
	Port         int    `yaml:"port"`
	TLS          string `yaml:"tls"` // starttls (default) | tls | none
	Username     string `yaml:"username"`
	PasswordFile string `yaml:"password_file"`
	From         string `yaml:"from"`
	CAFile       string `yaml:"ca_file"` // optional: trust this CA instead of the system pool
}

// ChannelConfig is one alert channel.
type ChannelConfig struct {
	Name       string `yaml:"name"`
	Type       string `yaml:"type"` // dingtalk | wecom | feishu | slack | webhook
	URL        string `yaml:"url"`
	URLFile    string `yaml:"url_file"`    // the URL from a file (it often holds a key)
	SecretFile string `yaml:"secret_file"` // dingtalk, feishu, webhook signing secret
}

// AlertsConfig says when to alert, and where.
type AlertsConfig struct {
	Channels           []string `yaml:"channels"`
	RecoveredThreshold int      `yaml:"recovered_threshold"`
	CallbackHealthMin  string   `yaml:"callback_health_min"`
	RejectedBurst      int      `yaml:"rejected_burst"`
	RejectedWindow     string   `yaml:"rejected_window"`
	DedupWindow        string   `yaml:"dedup_window"`
}

// SweepConfig configures the same-day sweep of registered orders.
type SweepConfig struct {
	Enabled  bool   `yaml:"enabled"`
	Interval string `yaml:"interval"`
	// Tiers is "every/until, …": check every 1m while the order is younger
	// than 10m, and so on; after the last tier the order is left expired.
	Tiers string `yaml:"tiers"`
}

// AdminConfig protects the admin routes (/reports/…, /api/runs).
type AdminConfig struct {
	// Listen, when set, serves the admin routes and /metrics on their own
	// listener (keep it on loopback); otherwise they share listen.
	Listen    string `yaml:"listen"`
	TokenFile string `yaml:"token_file"`
}

// AccountConfig is one merchant account at one provider.
type AccountConfig struct {
	Name     string `yaml:"name"`
	Provider string `yaml:"provider"`
	// Schedule overrides reconcile.schedule for this account.
	Schedule string `yaml:"schedule"`
	// FeeRate is the agreed fee rate, e.g. "0.60%"; FEE_MISMATCH is only
	// checked when it is set.
	FeeRate string `yaml:"fee_rate"`
	// EmailTo receives the daily workbook.
	EmailTo []string `yaml:"email_to"`

	// Alipay.
	AppID               string `yaml:"app_id"`
	SellerID            string `yaml:"seller_id"`
	Gateway             string `yaml:"gateway"`
	AppPrivateKeyFile   string `yaml:"app_private_key_file"`
	AlipayPublicKeyFile string `yaml:"alipay_public_key_file"`
	AppCertFile         string `yaml:"app_cert_file"`
	AlipayCertFile      string `yaml:"alipay_cert_file"`
	AlipayRootCertFile  string `yaml:"alipay_root_cert_file"`

	// WeChat Pay.
	MchID                  string   `yaml:"mchid"`
	WxAppID                string   `yaml:"appid"`
	BaseURL                string   `yaml:"base_url"`
	MerchantSerial         string   `yaml:"merchant_serial"`
	MerchantPrivateKeyFile string   `yaml:"merchant_private_key_file"`
	APIv3KeyFile           string   `yaml:"apiv3_key_file"`
	WechatpayPublicKeyID   string   `yaml:"wechatpay_public_key_id"`
	WechatpayPublicKeyFile string   `yaml:"wechatpay_public_key_file"`
	PlatformCertFiles      []string `yaml:"platform_cert_files"`
	APIv2KeyFile           string   `yaml:"apiv2_key_file"`
}

// DefaultConfig returns the defaults that a config file overrides.
func DefaultConfig() Config {
	return Config{
		Listen:       "127.0.0.1:8080",
		Database:     "./var/payrecon.db",
		Timezone:     payrecon.DefaultTimezone,
		LogLevel:     "info",
		MemoryLimit:  "256MiB",
		MaxBodyBytes: 64 << 10,
		ArchiveDir:   "./var/bills",
		Reports:      ReportsConfig{Dir: "./var/reports", Locale: "zh"},
		Reconcile: ReconcileConfig{Schedule: jobs.DefaultSchedule, HoldDays: 2, BillRetryInterval: "10m",
			BillDeadline: "4h", CatchUpDays: 7, QueryInterval: "200ms"},
		Sweep: SweepConfig{Enabled: true, Interval: "30s", Tiers: "1m/10m, 10m/1h, 1h/24h"},
		Delivery: DeliveryConfig{SMTP: SMTPConfig{TLS: "starttls", Port: 587},
			Alerts: AlertsConfig{RecoveredThreshold: 1, CallbackHealthMin: "95%", RejectedBurst: 20, RejectedWindow: "10m", DedupWindow: "24h"}},
	}
}

// FieldError names the config field at fault and why.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// ReadConfigFile parses path strictly (an unknown key is an error) over the
// defaults and validates it. It does not read key files; see [Config.Load].
func ReadConfigFile(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	cfg := DefaultConfig()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	cfg.dir = filepath.Dir(abs)
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

var accountName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// Validate checks the values that need no file access.
func (c *Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fieldErr("listen", "want host:port (got %q)", c.Listen))
	}
	if c.Database == "" || strings.Contains(c.Database, ":memory:") {
		errs = append(errs, fieldErr("database", "want a file path (got %q)", c.Database))
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil {
		errs = append(errs, fieldErr("timezone", "unknown time zone %q", c.Timezone))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fieldErr("log_level", "want debug, info, warn or error (got %q)", c.LogLevel))
	}
	if _, err := parseSize(c.MemoryLimit); err != nil {
		errs = append(errs, fieldErr("memory_limit", "%v", err))
	}
	if c.MaxBodyBytes < 1024 || c.MaxBodyBytes > 16<<20 {
		errs = append(errs, fieldErr("max_body_bytes", "want 1024 to 16777216 (got %d)", c.MaxBodyBytes))
	}
	if c.Reports.Locale != "zh" && c.Reports.Locale != "en" {
		errs = append(errs, fieldErr("reports.locale", "want zh or en (got %q)", c.Reports.Locale))
	}
	if c.Reports.Dir == "" {
		errs = append(errs, fieldErr("reports.dir", "required"))
	}
	if c.ArchiveDir == "" {
		errs = append(errs, fieldErr("archive_dir", "required"))
	}
	rc := c.Reconcile
	if err := validSchedule(rc.Schedule); err != nil {
		errs = append(errs, fieldErr("reconcile.schedule", "%v", err))
	}
	if rc.HoldDays < 0 || rc.HoldDays > 31 {
		errs = append(errs, fieldErr("reconcile.hold_days", "want 0 to 31 (got %d)", rc.HoldDays))
	}
	if rc.CatchUpDays < 0 || rc.CatchUpDays > 90 {
		errs = append(errs, fieldErr("reconcile.catch_up_days", "want 0 to 90 (got %d)", rc.CatchUpDays))
	}
	for name, v := range map[string]string{"reconcile.bill_retry_interval": rc.BillRetryInterval, "reconcile.bill_deadline": rc.BillDeadline, "reconcile.query_interval": rc.QueryInterval} {
		if d, err := time.ParseDuration(v); err != nil || d < 0 {
			errs = append(errs, fieldErr(name, "want a duration such as 10m or 200ms (got %q)", v))
		}
	}
	errs = append(errs, c.Delivery.validate()...)
	if _, err := parseTiers(c.Sweep.Tiers); err != nil {
		errs = append(errs, fieldErr("sweep.tiers", "%v", err))
	}
	if d, err := time.ParseDuration(c.Sweep.Interval); err != nil || d <= 0 {
		errs = append(errs, fieldErr("sweep.interval", "want a duration such as 30s (got %q)", c.Sweep.Interval))
	}
	if c.Admin.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Admin.Listen); err != nil {
			errs = append(errs, fieldErr("admin.listen", "want host:port (got %q)", c.Admin.Listen))
		}
	}
	if len(c.Accounts) == 0 {
		errs = append(errs, fieldErr("accounts", "at least one account is required"))
	}
	seen := map[string]bool{}
	for i, a := range c.Accounts {
		f := func(name string) string { return fmt.Sprintf("accounts[%d].%s", i, name) }
		if !accountName.MatchString(a.Name) {
			errs = append(errs, fieldErr(f("name"), "want letters, digits, '.', '_' or '-' (got %q)", a.Name))
		}
		if seen[a.Name] {
			errs = append(errs, fieldErr(f("name"), "duplicate account %q", a.Name))
		}
		seen[a.Name] = true
		if a.Schedule != "" {
			if err := validSchedule(a.Schedule); err != nil {
				errs = append(errs, fieldErr(f("schedule"), "%v", err))
			}
		}
		for j, addr := range a.EmailTo {
			if _, err := mail.ParseAddress(addr); err != nil {
				errs = append(errs, fieldErr(fmt.Sprintf("%s[%d]", f("email_to"), j), "not an e-mail address (got %q)", addr))
			}
		}
		if len(a.EmailTo) > 0 && c.Delivery.SMTP.Host == "" {
			errs = append(errs, fieldErr(f("email_to"), "needs delivery.smtp.host"))
		}
		if a.FeeRate != "" {
			if _, err := parseRate(a.FeeRate); err != nil {
				errs = append(errs, fieldErr(f("fee_rate"), "%v", err))
			}
		}
		req := func(field, v string) {
			if v == "" {
				errs = append(errs, fieldErr(f(field), "required for provider %s", a.Provider))
			}
		}
		switch payrecon.Provider(a.Provider) {
		case payrecon.Alipay:
			req("app_id", a.AppID)
			req("app_private_key_file", a.AppPrivateKeyFile)
			if a.AlipayPublicKeyFile == "" && a.AlipayCertFile == "" {
				errs = append(errs, fieldErr(f("alipay_public_key_file"), "set it (public-key mode) or alipay_cert_file (certificate mode)"))
			}
			if a.AlipayCertFile != "" && (a.AppCertFile == "" || a.AlipayRootCertFile == "") {
				errs = append(errs, fieldErr(f("alipay_cert_file"), "certificate mode also needs app_cert_file and alipay_root_cert_file"))
			}
			for field, v := range map[string]string{"mchid": a.MchID, "appid": a.WxAppID, "apiv3_key_file": a.APIv3KeyFile} {
				if v != "" {
					errs = append(errs, fieldErr(f(field), "is a WeChat Pay field; this account's provider is alipay"))
				}
			}
		case payrecon.WeChatPay:
			req("mchid", a.MchID)
			req("merchant_serial", a.MerchantSerial)
			req("merchant_private_key_file", a.MerchantPrivateKeyFile)
			req("apiv3_key_file", a.APIv3KeyFile)
			if a.WechatpayPublicKeyFile == "" && len(a.PlatformCertFiles) == 0 {
				errs = append(errs, fieldErr(f("wechatpay_public_key_file"), "set it (with wechatpay_public_key_id) or platform_cert_files"))
			}
			if (a.WechatpayPublicKeyFile == "") != (a.WechatpayPublicKeyID == "") {
				errs = append(errs, fieldErr(f("wechatpay_public_key_id"), "wechatpay_public_key_id and wechatpay_public_key_file go together"))
			}
			if a.WechatpayPublicKeyID != "" && !strings.HasPrefix(a.WechatpayPublicKeyID, "PUB_KEY_ID_") {
				errs = append(errs, fieldErr(f("wechatpay_public_key_id"), "want PUB_KEY_ID_… (got %q)", a.WechatpayPublicKeyID))
			}
			for field, v := range map[string]string{"app_id": a.AppID, "seller_id": a.SellerID, "alipay_public_key_file": a.AlipayPublicKeyFile} {
				if v != "" {
					errs = append(errs, fieldErr(f(field), "is an Alipay field; this account's provider is wechatpay"))
				}
			}
		default:
			errs = append(errs, fieldErr(f("provider"), "want alipay or wechatpay (got %q)", a.Provider))
		}
	}
	return errors.Join(errs...)
}

// Path resolves a path from the config relative to the config file.
func (c *Config) Path(p string) string {
	if p == "" || filepath.IsAbs(p) || c.dir == "" {
		return p
	}
	return filepath.Join(c.dir, p)
}

// secret reads a key file, or the environment variable NAME when the value
// is "env:NAME". Errors name the field and never the content.
func (c *Config) secret(field, value string, getenv func(string) string) ([]byte, error) {
	if name, ok := strings.CutPrefix(value, "env:"); ok {
		v := getenv(name)
		if v == "" {
			return nil, fieldErr(field, "environment variable %s is empty", name)
		}
		return []byte(v), nil
	}
	b, err := os.ReadFile(c.Path(value))
	if err != nil {
		return nil, fieldErr(field, "cannot read %s: %v", c.Path(value), errors.Unwrap(err))
	}
	return b, nil
}

// Account is a configured account with its keys loaded.
type Account struct {
	Config   AccountConfig
	Provider payrecon.Provider
	Alipay   *alipay.Verifier
	WeChat   *wechatpay.Verifier
	// Client calls the provider's APIs (queries, bills).
	AlipayClient *alipay.Client
	WeChatClient *wechatpay.Client
}

// Load reads every key file and builds the verifiers. now is the clock used
// for WeChat Pay's timestamp check.
func (c *Config) Load(getenv func(string) string, now func() time.Time, hc *http.Client) ([]Account, error) {
	var out []Account
	var errs []error
	for i, a := range c.Accounts {
		f := func(name string) string { return fmt.Sprintf("accounts[%d].%s", i, name) }
		acct := Account{Config: a, Provider: payrecon.Provider(a.Provider)}
		fail := func(err error) { errs = append(errs, err) }
		pubKey := func(field, value string) *rsa.PublicKey {
			b, err := c.secret(field, value, getenv)
			if err != nil {
				fail(err)
				return nil
			}
			k, err := keyfile.ParsePublicKey(b)
			if err != nil {
				fail(fieldErr(field, "not an RSA public key or certificate"))
			}
			return k
		}
		privKey := func(field, value string) *rsa.PrivateKey {
			b, err := c.secret(field, value, getenv)
			if err != nil {
				fail(err)
				return nil
			}
			k, err := keyfile.ParsePrivateKey(b)
			if err != nil {
				fail(fieldErr(field, "not an RSA private key (PEM PKCS#1/PKCS#8 or base64)"))
			}
			return k
		}
		certs := func(field, value string) []*x509.Certificate {
			b, err := c.secret(field, value, getenv)
			if err != nil {
				fail(err)
				return nil
			}
			cs, err := keyfile.ParseCertificates(b)
			if err != nil {
				fail(fieldErr(field, "no parsable certificate"))
			}
			return cs
		}
		switch acct.Provider {
		case payrecon.Alipay:
			v := &alipay.Verifier{Account: a.Name, AppID: a.AppID, SellerID: a.SellerID}
			cl := &alipay.Client{AppID: a.AppID, Gateway: a.Gateway, HTTP: hc, Now: now}
			if cl.Gateway == "" {
				cl.Gateway = "https://openapi.alipay.com/gateway.do"
			}
			cl.Key = privKey(f("app_private_key_file"), a.AppPrivateKeyFile)
			if a.AlipayPublicKeyFile != "" {
				if k := pubKey(f("alipay_public_key_file"), a.AlipayPublicKeyFile); k != nil {
					v.Keys = append(v.Keys, alipay.Key{Name: "public-key", Pub: k})
				}
			}
			if a.AlipayCertFile != "" {
				b, err := c.secret(f("alipay_cert_file"), a.AlipayCertFile, getenv)
				if err != nil {
					fail(err)
				} else if cs, err := keyfile.ParseCertificates(b); err != nil {
					fail(fieldErr(f("alipay_cert_file"), "no parsable certificate"))
				} else if k, ok := cs[0].PublicKey.(*rsa.PublicKey); !ok {
					fail(fieldErr(f("alipay_cert_file"), "certificate key is not RSA"))
				} else {
					v.Keys = append(v.Keys, alipay.Key{Name: "cert:" + alipay.CertSN(cs[0]), Pub: k})
				}
				if cs := certs(f("app_cert_file"), a.AppCertFile); len(cs) > 0 {
					cl.AppCertSN = alipay.CertSN(cs[0])
				}
				if cs := certs(f("alipay_root_cert_file"), a.AlipayRootCertFile); len(cs) > 0 {
					cl.RootCertSN = alipay.RootCertSN(cs)
				}
			}
			cl.Keys = v.Keys
			acct.Alipay, acct.AlipayClient = v, cl
		case payrecon.WeChatPay:
			v := &wechatpay.Verifier{Account: a.Name, MchID: a.MchID, AppID: a.WxAppID, Now: now, Keys: map[string]*rsa.PublicKey{}}
			mchKey := privKey(f("merchant_private_key_file"), a.MerchantPrivateKeyFile)
			if b, err := c.secret(f("apiv3_key_file"), a.APIv3KeyFile, getenv); err != nil {
				fail(err)
			} else if k := bytes.TrimRight(b, "\r\n"); len(k) != 32 {
				fail(fieldErr(f("apiv3_key_file"), "the APIv3 key must be exactly 32 bytes (got %d)", len(k)))
			} else {
				v.APIv3Key = k
			}
			if a.WechatpayPublicKeyFile != "" {
				if k := pubKey(f("wechatpay_public_key_file"), a.WechatpayPublicKeyFile); k != nil {
					v.Keys[a.WechatpayPublicKeyID] = k
				}
			}
			for j, p := range a.PlatformCertFiles {
				field := fmt.Sprintf("%s[%d]", f("platform_cert_files"), j)
				b, err := c.secret(field, p, getenv)
				if err != nil {
					fail(err)
					continue
				}
				cs, err := keyfile.ParseCertificates(b)
				if err != nil {
					fail(fieldErr(field, "no parsable certificate"))
					continue
				}
				k, ok := cs[0].PublicKey.(*rsa.PublicKey)
				if !ok {
					fail(fieldErr(field, "certificate key is not RSA"))
					continue
				}
				v.Keys[strings.ToUpper(cs[0].SerialNumber.Text(16))] = k
			}
			if a.APIv2KeyFile != "" {
				if b, err := c.secret(f("apiv2_key_file"), a.APIv2KeyFile, getenv); err != nil {
					fail(err)
				} else if k := bytes.TrimRight(b, "\r\n"); len(k) != 32 {
					fail(fieldErr(f("apiv2_key_file"), "the APIv2 key must be exactly 32 bytes (got %d)", len(k)))
				} else {
					v.APIv2Key = k
				}
			}
			acct.WeChat = v
			base := a.BaseURL
			if base == "" {
				base = "https://api.mch.weixin.qq.com"
			}
			acct.WeChatClient = &wechatpay.Client{MchID: a.MchID, Serial: a.MerchantSerial, Key: mchKey, BaseURL: base, Verifier: v, HTTP: hc}
		}
		out = append(out, acct)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
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

// parseRate parses a percentage such as "0.60%" into hundredths of a percent.
func parseRate(s string) (int64, error) {
	v, ok := strings.CutSuffix(strings.TrimSpace(s), "%")
	if !ok {
		return 0, fmt.Errorf("want a percentage such as 0.60%% (got %q)", s)
	}
	n, err := payrecon.ParseYuanFixed(v, 2)
	if err != nil || n < 0 || n > 10000 {
		return 0, fmt.Errorf("want a percentage such as 0.60%% (got %q)", s)
	}
	return n, nil
}

func mustDuration(s string) time.Duration {
	d, _ := time.ParseDuration(s)
	return d
}

// defaultMemoryLimit matches DefaultConfig's memory_limit.
const defaultMemoryLimit = 256 << 20

// parseSize parses "256MiB", "1GiB", "512KiB", a plain byte count, or "off"
// (0: no limit).
func parseSize(s string) (int64, error) {
	if s == "off" || s == "" {
		return 0, nil
	}
	mult := int64(1)
	for suffix, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if v, ok := strings.CutSuffix(s, suffix); ok {
			s, mult = v, m
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("want a size such as 256MiB or off (got %q)", s)
	}
	return n * mult, nil
}

func (d DeliveryConfig) validate() []error {
	var errs []error
	sm := d.SMTP
	if sm.Host != "" {
		if sm.Port <= 0 || sm.Port > 65535 {
			errs = append(errs, fieldErr("delivery.smtp.port", "want 1 to 65535 (got %d)", sm.Port))
		}
		switch sm.TLS {
		case "starttls", "tls", "none":
		default:
			errs = append(errs, fieldErr("delivery.smtp.tls", "want starttls, tls or none (got %q)", sm.TLS))
		}
		if _, err := mail.ParseAddress(sm.From); err != nil {
			errs = append(errs, fieldErr("delivery.smtp.from", "not an e-mail address (got %q)", sm.From))
		}
		if sm.Username != "" && sm.PasswordFile == "" {
			errs = append(errs, fieldErr("delivery.smtp.password_file", "required with username"))
		}
	}
	names := map[string]bool{}
	for i, ch := range d.Channels {
		f := func(n string) string { return fmt.Sprintf("delivery.channels[%d].%s", i, n) }
		if !accountName.MatchString(ch.Name) || ch.Name == "email" {
			errs = append(errs, fieldErr(f("name"), "want letters, digits, '.', '_' or '-', not \"email\" (got %q)", ch.Name))
		}
		if names[ch.Name] {
			errs = append(errs, fieldErr(f("name"), "duplicate channel %q", ch.Name))
		}
		names[ch.Name] = true
		switch ch.Type {
		case "dingtalk", "wecom", "feishu", "slack", "webhook":
		default:
			errs = append(errs, fieldErr(f("type"), "want dingtalk, wecom, feishu, slack or webhook (got %q)", ch.Type))
		}
		if (ch.URL == "") == (ch.URLFile == "") {
			errs = append(errs, fieldErr(f("url"), "set url or url_file"))
		}
	}
	for i, n := range d.Alerts.Channels {
		if !names[n] {
			errs = append(errs, fieldErr(fmt.Sprintf("delivery.alerts.channels[%d]", i), "no channel named %q", n))
		}
	}
	if d.Alerts.CallbackHealthMin != "" {
		if _, err := parseRate(d.Alerts.CallbackHealthMin); err != nil {
			errs = append(errs, fieldErr("delivery.alerts.callback_health_min", "%v", err))
		}
	}
	for name, v := range map[string]string{"delivery.alerts.rejected_window": d.Alerts.RejectedWindow, "delivery.alerts.dedup_window": d.Alerts.DedupWindow} {
		if dd, err := time.ParseDuration(v); err != nil || dd <= 0 {
			errs = append(errs, fieldErr(name, "want a duration such as 10m (got %q)", v))
		}
	}
	return errs
}

// parseTiers parses "1m/10m, 10m/1h, 1h/24h" (every/until, growing).
func parseTiers(s string) ([]jobs.Tier, error) {
	var out []jobs.Tier
	for _, part := range strings.Split(s, ",") {
		every, until, ok := strings.Cut(strings.TrimSpace(part), "/")
		e, err1 := time.ParseDuration(strings.TrimSpace(every))
		u, err2 := time.ParseDuration(strings.TrimSpace(until))
		if !ok || err1 != nil || err2 != nil || e <= 0 || u <= 0 || e > u || (len(out) > 0 && u <= out[len(out)-1].Until) {
			return nil, fmt.Errorf("want every/until pairs with growing until, such as \"1m/10m, 10m/1h, 1h/24h\" (got %q)", s)
		}
		out = append(out, jobs.Tier{Every: e, Until: u})
	}
	return out, nil
}

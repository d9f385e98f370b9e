// Package config reads, defaults and validates payrecon's YAML configuration.
// Values are parsed once, when the file is read, into typed fields
// (durations, rates, sizes, sweep tiers), and every mistake names the file,
// the line and the field: payrecon.yaml:3: unknown field "timezon". Key files
// are read by [Config.Secret]; the provider clients are built by cmd.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/store"
)

// Config is the YAML configuration file. Field names are a contract: they
// may gain siblings, never change.
type Config struct {
	Listen string `yaml:"listen"`
	// Database is the ledger: a SQLite file path (relative to the config
	// file), a postgres:// URL, or env:NAME naming a variable that holds
	// either (keeps a database password out of the file). See
	// [Config.DatabaseSource].
	Database string `yaml:"database"`
	Timezone string `yaml:"timezone"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `yaml:"log_level"`
	// LogFormat is text (default) or json (slog's JSON, for log shippers).
	// Logs go to stderr.
	LogFormat string `yaml:"log_format"`
	// MemoryLimit is the Go runtime's soft memory limit ("256MiB", "1GiB",
	// "off"): the garbage collector works harder near it, so a million-row
	// reconciliation stays within it; below it nothing changes.
	MemoryLimit ByteSize `yaml:"memory_limit"`
	// MaxBodyBytes caps a notification body (default 64 KiB).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// ArchiveDir keeps every downloaded or imported bill, raw.
	ArchiveDir string    `yaml:"archive_dir"`
	Reports    Reports   `yaml:"reports"`
	Reconcile  Reconcile `yaml:"reconcile"`
	Delivery   Delivery  `yaml:"delivery"`
	Sweep      Sweep     `yaml:"sweep"`
	Admin      Admin     `yaml:"admin"`
	Review     Review    `yaml:"review"`
	Limits     Limits    `yaml:"limits"`
	Accounts   []Account `yaml:"accounts"`
	// Forward lists the merchant-app endpoints that receive every
	// verified payment event.
	Forward []Forward `yaml:"forward"`

	dir string // directory of the config file; relative paths resolve here
}

// Reports configures the daily workbooks.
type Reports struct {
	Dir    string `yaml:"dir"`
	Locale string `yaml:"locale"` // zh (default) or en
}

// Reconcile configures the daily reconciliation.
type Reconcile struct {
	// Schedule is a cron spec (5 fields, CRON_TZ= prefix allowed); "off"
	// disables scheduling in serve.
	Schedule          string   `yaml:"schedule"`
	HoldDays          int      `yaml:"hold_days"`
	BillRetryInterval Duration `yaml:"bill_retry_interval"`
	BillDeadline      Duration `yaml:"bill_deadline"`
	CatchUpDays       int      `yaml:"catch_up_days"`
	QueryInterval     Duration `yaml:"query_interval"`
	// StartDate, when set, is the go-live date of every account (a date
	// in Beijing time): days before it are reconciled only with -backfill.
	// Unset, an account goes live at serve's first start on the ledger.
	StartDate Date `yaml:"start_date"`
}

// Delivery configures e-mail to accountants and alerts to ops.
type Delivery struct {
	SMTP     SMTP      `yaml:"smtp"`
	Channels []Channel `yaml:"channels"`
	Alerts   Alerts    `yaml:"alerts"`
}

// SMTP is the mail server the workbooks are sent through.
type SMTP struct {
	Host         string `yaml:"host"`
	Port         int    `yaml:"port"`
	TLS          string `yaml:"tls"` // starttls (default) | tls | none
	Username     string `yaml:"username"`
	PasswordFile string `yaml:"password_file"`
	From         string `yaml:"from"`
	CAFile       string `yaml:"ca_file"` // optional: trust this CA instead of the system pool
}

// Channel is one alert channel.
type Channel struct {
	Name       string `yaml:"name"`
	Type       string `yaml:"type"` // dingtalk | wecom | feishu | slack | webhook
	URL        string `yaml:"url"`
	URLFile    string `yaml:"url_file"`    // the URL from a file (it often holds a key)
	SecretFile string `yaml:"secret_file"` // dingtalk, feishu, webhook signing secret
}

// Alerts says when to alert, and where.
type Alerts struct {
	Channels           []string `yaml:"channels"`
	RecoveredThreshold int      `yaml:"recovered_threshold"`
	CallbackHealthMin  Rate     `yaml:"callback_health_min"`
	RejectedBurst      int      `yaml:"rejected_burst"`
	RejectedWindow     Duration `yaml:"rejected_window"`
	DedupWindow        Duration `yaml:"dedup_window"`
}

// Sweep configures the same-day sweep of registered orders.
type Sweep struct {
	Enabled  bool     `yaml:"enabled"`
	Interval Duration `yaml:"interval"`
	// Tiers is "every/until, …": check every 1m while the order is younger
	// than 10m, and so on; after the last tier the order is left expired.
	Tiers Tiers `yaml:"tiers"`
}

// Admin protects the admin routes (/reports/…, /api/runs).
type Admin struct {
	// Listen, when set, serves the admin routes and /metrics on their own
	// listener (keep it on loopback); otherwise they share listen.
	Listen    string `yaml:"listen"`
	TokenFile string `yaml:"token_file"`
	// Operators sign in to the console by name, each with a token of
	// their own; the resolutions they make are audited under that name.
	Operators []Operator `yaml:"operators"`
}

// Operator is a named console user.
type Operator struct {
	Name      string `yaml:"name"`
	TokenFile string `yaml:"token_file"`
}

// Review configures manual resolutions (payrecon review, the console).
type Review struct {
	// WriteOffMaxFen is the largest bill/ledger difference, in fen, a
	// person may write off (0: write-offs are refused).
	WriteOffMaxFen int64 `yaml:"write_off_max_fen"`
}

// Account is one merchant account at one provider.
type Account struct {
	Name     string `yaml:"name"`
	Provider string `yaml:"provider"`
	// Schedule overrides reconcile.schedule for this account.
	Schedule string `yaml:"schedule"`
	// FeeRate is the agreed fee rate, e.g. "0.60%"; FEE_MISMATCH is only
	// checked when it is set.
	FeeRate Rate `yaml:"fee_rate"`
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
	WxAppIDs               []string `yaml:"appids"` // further apps on the same merchant number
	BaseURL                string   `yaml:"base_url"`
	MerchantSerial         string   `yaml:"merchant_serial"`
	MerchantPrivateKeyFile string   `yaml:"merchant_private_key_file"`
	APIv3KeyFile           string   `yaml:"apiv3_key_file"`
	WechatpayPublicKeyID   string   `yaml:"wechatpay_public_key_id"`
	WechatpayPublicKeyFile string   `yaml:"wechatpay_public_key_file"`
	PlatformCertFiles      []string `yaml:"platform_cert_files"`
	APIv2KeyFile           string   `yaml:"apiv2_key_file"`
}

// Default returns the defaults that a config file overrides. They are
// written here only; the daily schedule and the sweep tiers are the jobs
// package's own defaults (jobs.DefaultSchedule, jobs.DefaultTiers).
func Default() Config {
	return Config{
		Listen:       "127.0.0.1:8080",
		Database:     "./var/payrecon.db",
		Timezone:     payrecon.DefaultTimezone,
		LogLevel:     "info",
		LogFormat:    "text",
		MemoryLimit:  256 << 20,
		MaxBodyBytes: 64 << 10,
		ArchiveDir:   "./var/bills",
		Reports:      Reports{Dir: "./var/reports", Locale: "zh"},
		Reconcile: Reconcile{Schedule: jobs.DefaultSchedule, HoldDays: 2, BillRetryInterval: Duration(10 * time.Minute),
			BillDeadline: Duration(4 * time.Hour), CatchUpDays: 7, QueryInterval: Duration(200 * time.Millisecond)},
		Limits: DefaultLimits(),
		Sweep:  Sweep{Enabled: true, Interval: Duration(30 * time.Second), Tiers: jobs.DefaultTiers()},
		Delivery: Delivery{SMTP: SMTP{TLS: "starttls", Port: 587},
			Alerts: Alerts{RecoveredThreshold: 1, CallbackHealthMin: 9500, RejectedBurst: 20,
				RejectedWindow: Duration(10 * time.Minute), DedupWindow: Duration(24 * time.Hour)}},
	}
}

// FieldError names the config field at fault and why.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

func FieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Read parses path strictly over the defaults and validates it.
// An unknown key or a value of the wrong form is an error naming the file,
// the line and the field. It does not read key files; see [Config.Secret].
func Read(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	cfg := Default()
	if err := decodeStrict(path, b, &cfg); err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
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

// Path resolves a path from the config relative to the config file.
func (c *Config) Path(p string) string {
	if p == "" || filepath.IsAbs(p) || c.dir == "" {
		return p
	}
	return filepath.Join(c.dir, p)
}

// DatabaseSource resolves the database field: env:NAME becomes the
// variable's value, a postgres:// or postgresql:// URL stays as it is, and
// a path is resolved relative to the config file. Errors name the field
// and never the value (which may carry a password).
func (c *Config) DatabaseSource(getenv func(string) string) (string, error) {
	v := c.Database
	if name, ok := strings.CutPrefix(v, "env:"); ok {
		if v = getenv(name); v == "" {
			return "", FieldErr("database", "environment variable %s is empty", name)
		}
		if IsDatabaseURL(v) {
			return v, nil
		}
		if strings.Contains(v, "://") || strings.Contains(v, ":memory:") {
			return "", FieldErr("database", "environment variable %s holds neither a postgres:// URL nor a file path", name)
		}
		return v, nil
	}
	if IsDatabaseURL(v) {
		return v, nil
	}
	return c.Path(v), nil
}

// IsDatabaseURL reports whether a database value names a PostgreSQL
// database: a postgres:// or postgresql:// URL, or a libpq keyword/value
// string ([store.IsPostgres]).
func IsDatabaseURL(v string) bool { return store.IsPostgres(v) }

// Secret reads a key file, or the environment variable NAME when the value
// is "env:NAME". Errors name the field and never the content.
func (c *Config) Secret(field, value string, getenv func(string) string) ([]byte, error) {
	if name, ok := strings.CutPrefix(value, "env:"); ok {
		v := getenv(name)
		if v == "" {
			return nil, FieldErr(field, "environment variable %s is empty", name)
		}
		return []byte(v), nil
	}
	b, err := os.ReadFile(c.Path(value))
	if err != nil {
		return nil, FieldErr(field, "cannot read %s: %v", c.Path(value), errors.Unwrap(err))
	}
	return b, nil
}

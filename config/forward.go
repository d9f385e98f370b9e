package config

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Forward is one merchant-app endpoint that receives every verified
// payment event (see package forward). The field names are the contract of
// the forward: list.
type Forward struct {
	Name string `yaml:"name"`
	// URL receives the events; http only for loopback or private addresses.
	URL string `yaml:"url"`
	// SecretFile holds the Standard Webhooks secret: "whsec_" + base64 of
	// 24–64 random bytes (or env:NAME).
	SecretFile string `yaml:"secret_file"`
	// Accounts limits the events to these accounts (default: every account).
	Accounts []string `yaml:"accounts"`
	// Timeout bounds one delivery attempt (default 10s).
	Timeout Duration `yaml:"timeout"`
	// RetrySchedule is the wait before each retry; after the last step,
	// every last step until the event is 3 days old.
	RetrySchedule Durations `yaml:"retry_schedule"`
}

// DefaultForwardTimeout bounds a delivery attempt when the entry sets no
// timeout.
const DefaultForwardTimeout = 10 * time.Second

// DefaultRetrySchedule is the retry schedule of an entry that sets none.
func DefaultRetrySchedule() []time.Duration {
	return []time.Duration{5 * time.Second, time.Minute, 5 * time.Minute, 30 * time.Minute,
		2 * time.Hour, 5 * time.Hour, 10 * time.Hour}
}

// TimeoutOrDefault is the entry's timeout, or the default.
func (f Forward) TimeoutOrDefault() time.Duration {
	if f.Timeout > 0 {
		return time.Duration(f.Timeout)
	}
	return DefaultForwardTimeout
}

// Schedule is the entry's retry schedule, or the default.
func (f Forward) Schedule() []time.Duration {
	if len(f.RetrySchedule) == 0 {
		return DefaultRetrySchedule()
	}
	out := make([]time.Duration, len(f.RetrySchedule))
	for i, d := range f.RetrySchedule {
		out[i] = time.Duration(d)
	}
	return out
}

// Durations is a list of Go durations such as [5s, 1m, 5m].
type Durations []Duration

// UnmarshalYAML implements [yaml.Unmarshaler].
func (ds *Durations) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.SequenceNode {
		return fmt.Errorf("want a list of durations such as [5s, 1m, 5m] (got %s)", shown(n))
	}
	out := make(Durations, 0, len(n.Content))
	for i, item := range n.Content {
		var d Duration
		if err := d.UnmarshalYAML(item); err != nil {
			return fmt.Errorf("[%d]: %w", i, err)
		}
		out = append(out, d)
	}
	*ds = out
	return nil
}

// validateForward checks the forward entries without reading their
// secrets: names, URLs, durations and accounts.
func (c *Config) validateForward() []error {
	var errs []error
	accounts := map[string]bool{}
	for _, a := range c.Accounts {
		accounts[a.Name] = true
	}
	names := map[string]bool{}
	valid := namePattern()
	for i, fw := range c.Forward {
		f := func(n string) string { return fmt.Sprintf("forward[%d].%s", i, n) }
		if !valid.MatchString(fw.Name) {
			errs = append(errs, FieldErr(f("name"), "want letters, digits, '.', '_' or '-' (got %q)", fw.Name))
		}
		if names[fw.Name] {
			errs = append(errs, FieldErr(f("name"), "duplicate forward %q", fw.Name))
		}
		names[fw.Name] = true
		if err := checkForwardURL(fw.URL); err != nil {
			errs = append(errs, FieldErr(f("url"), "%v", err))
		}
		if fw.SecretFile == "" {
			errs = append(errs, FieldErr(f("secret_file"), "required"))
		}
		for j, a := range fw.Accounts {
			if !accounts[a] {
				errs = append(errs, FieldErr(fmt.Sprintf("%s[%d]", f("accounts"), j), "no account named %q", a))
			}
		}
		if fw.Timeout < 0 {
			errs = append(errs, FieldErr(f("timeout"), "want a duration above 0 (got %s)", fw.Timeout))
		}
		for j, d := range fw.RetrySchedule {
			if d <= 0 {
				errs = append(errs, FieldErr(fmt.Sprintf("%s[%d]", f("retry_schedule"), j), "want a duration above 0 (got %s)", d))
			}
		}
	}
	return errs
}

// checkForwardURL accepts https anywhere and http only to a loopback or
// private address (an IP literal or localhost: no DNS lookup here).
func checkForwardURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return fmt.Errorf("want an absolute https URL without credentials (got %q)", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if strings.EqualFold(host, "localhost") {
			return nil
		}
		if ip := net.ParseIP(host); ip != nil && (ip.IsLoopback() || ip.IsPrivate()) {
			return nil
		}
		return fmt.Errorf("http only for loopback or private addresses; use https (got host %q)", host)
	}
	return fmt.Errorf("want https (or http to a loopback or private address) (got scheme %q)", u.Scheme)
}

// ForwardSecret reads forward[i]'s secret file and returns the signing key
// it encodes. The error names the field, never the content.
func (c *Config) ForwardSecret(i int, getenv func(string) string) ([]byte, error) {
	field := fmt.Sprintf("forward[%d].secret_file", i)
	b, err := c.Secret(field, c.Forward[i].SecretFile, getenv)
	if err != nil {
		return nil, err
	}
	key, err := ParseForwardSecret(string(bytes.TrimSpace(b)))
	if err != nil {
		return nil, FieldErr(field, "%v", err)
	}
	return key, nil
}

// ParseForwardSecret decodes a Standard Webhooks secret, "whsec_" + base64
// of 24 to 64 bytes. The error never shows the secret.
func ParseForwardSecret(s string) ([]byte, error) {
	rest, ok := strings.CutPrefix(s, "whsec_")
	if !ok {
		return nil, fmt.Errorf("want a secret of the form whsec_ followed by base64 (no whsec_ prefix)")
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return nil, fmt.Errorf("want a secret of the form whsec_ followed by base64 (not valid base64)")
	}
	if len(key) < 24 || len(key) > 64 {
		return nil, fmt.Errorf("want whsec_ with base64 of 24 to 64 bytes (got %d bytes)", len(key))
	}
	return key, nil
}

// ForwardSecrets reads every forward entry's secret, in order; every
// problem is reported.
func (c *Config) ForwardSecrets(getenv func(string) string) ([][]byte, error) {
	out := make([][]byte, len(c.Forward))
	var errs []error
	for i := range c.Forward {
		k, err := c.ForwardSecret(i, getenv)
		if err != nil {
			errs = append(errs, err)
		}
		out[i] = k
	}
	return out, errors.Join(errs...)
}

package provider

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/url"
	"syscall"
)

// ErrMisconfigured marks a provider failure that waiting will not fix: the
// provider cannot be reached at the configured address (connection
// refused, unknown host, TLS failure) or refuses who we say we are (our
// request signature, app id or merchant number). A run that meets it fails
// at once instead of retrying until the bill deadline. The error carrying
// it is a [*ConfigError] that says what to check, in plain words.
var ErrMisconfigured = errors.New("provider misconfigured")

// ConfigError is a failure only a change of configuration fixes. Hint says
// what is wrong and which config keys to check ("WeChat Pay rejected our
// request signature: check merchant_serial and merchant_private_key_file");
// Err is the provider's own error, kept for the record. Neither carries a
// secret.
type ConfigError struct {
	Hint string
	Err  error
}

func (e *ConfigError) Error() string {
	if e.Err == nil {
		return e.Hint
	}
	return e.Hint + " (" + e.Err.Error() + ")"
}

// Unwrap lets errors.Is find [ErrMisconfigured] and whatever Err wraps.
func (e *ConfigError) Unwrap() []error { return []error{ErrMisconfigured, e.Err} }

// Misconfigured wraps err as a [*ConfigError] with hint.
func Misconfigured(hint string, err error) error { return &ConfigError{Hint: hint, Err: err} }

// HintOf returns the plain-words hint of a misconfiguration in err's chain,
// or "".
func HintOf(err error) string {
	var ce *ConfigError
	if errors.As(err, &ce) {
		return ce.Hint
	}
	return ""
}

// TransportError classifies an HTTP client failure of op against service
// (a provider's name, "Alipay" or "WeChat Pay") at rawURL, whose address is
// configured by field. Connection refused, an unknown host and a TLS
// failure are misconfigurations (the hint names the host, never the path or
// query, and the field); anything else (timeouts, resets) is retryable.
func TransportError(op, service, field, rawURL string, err error) error {
	msg := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) {
		msg = ue.Op + ": " + ue.Err.Error()
	}
	pe := &Error{Op: op, Message: msg, Retryable: true}
	host := "the configured address"
	if u, perr := url.Parse(rawURL); perr == nil && u.Host != "" {
		host = u.Host
	}
	var dns *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var badHost x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	var record tls.RecordHeaderError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		pe.Retryable = false
		return Misconfigured("cannot connect to "+service+" at "+host+" (connection refused): check "+field, pe)
	case errors.As(err, &dns) && dns.IsNotFound:
		pe.Retryable = false
		return Misconfigured("unknown host "+dns.Name+" for "+service+": check "+field, pe)
	case errors.As(err, &unknownCA), errors.As(err, &badHost), errors.As(err, &invalid), errors.As(err, &verify), errors.As(err, &record):
		pe.Retryable = false
		return Misconfigured("TLS failure talking to "+service+" at "+host+": check "+field+" (scheme, host) and the system's CA certificates", pe)
	}
	return pe
}

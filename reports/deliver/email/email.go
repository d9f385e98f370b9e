// Package email sends the daily workbook (and alerts) over SMTP with
// wneessen/go-mail: STARTTLS or implicit TLS, PLAIN/LOGIN auth. The
// password never appears in an error.
package email

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"

	"github.com/payrecon/payrecon/reports/deliver"
)

// TLS modes.
const (
	STARTTLS = "starttls" // port 587 usually; upgrade required
	Implicit = "tls"      // port 465 usually; TLS from the first byte
	None     = "none"     // plaintext; loopback relays only
)

// Notifier sends messages through one SMTP server.
type Notifier struct {
	Host     string
	Port     int
	TLS      string
	Username string
	Password []byte
	From     string
	// RootCAs verifies the server certificate (nil: the system pool).
	RootCAs *x509.CertPool
	Timeout time.Duration
}

// Notify implements deliver.Notifier. m.To are the recipients.
func (n *Notifier) Notify(ctx context.Context, m deliver.Message) (bool, error) {
	if len(m.To) == 0 {
		return false, errors.New("email: no recipients")
	}
	msg := mail.NewMsg()
	if err := msg.From(n.From); err != nil {
		return false, fmt.Errorf("email: from: %w", err)
	}
	if err := msg.To(m.To...); err != nil {
		return false, fmt.Errorf("email: to: %w", err)
	}
	msg.Subject(m.Title)
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	for _, a := range m.Attachments {
		if err := msg.AttachReader(a.Name, bytes.NewReader(a.Data), mail.WithFileContentType(mail.ContentType(a.ContentType))); err != nil {
			return false, fmt.Errorf("email: attach %s: %w", a.Name, err)
		}
	}
	c, err := n.client()
	if err != nil {
		return false, err
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		var se *mail.SendError
		retry := true
		if errors.As(err, &se) {
			retry = se.IsTemp()
		}
		if strings.Contains(strings.ToLower(err.Error()), "auth") {
			retry = false
		}
		return retry, fmt.Errorf("email via %s:%d: %s", n.Host, n.Port, n.redact(err))
	}
	return false, nil
}

// Check connects to the server, negotiates TLS as configured and
// authenticates, then quits without sending anything (check-config -live).
func (n *Notifier) Check(ctx context.Context) error {
	c, err := n.client()
	if err != nil {
		return err
	}
	if err := c.DialWithContext(ctx); err != nil {
		return fmt.Errorf("email via %s:%d: %s", n.Host, n.Port, n.redact(err))
	}
	if err := c.Close(); err != nil {
		return fmt.Errorf("email via %s:%d: quit: %s", n.Host, n.Port, n.redact(err))
	}
	return nil
}

// client is a go-mail client for the server, TLS and credentials.
func (n *Notifier) client() (*mail.Client, error) {
	timeout := n.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	opts := []mail.Option{mail.WithPort(n.Port), mail.WithTimeout(timeout),
		mail.WithTLSConfig(&tls.Config{ServerName: n.Host, RootCAs: n.RootCAs, MinVersion: tls.VersionTLS12})}
	switch n.TLS {
	case Implicit:
		opts = append(opts, mail.WithSSL())
	case None:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if n.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthPlain), mail.WithUsername(n.Username), mail.WithPassword(string(n.Password)))
	}
	c, err := mail.NewClient(n.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("email: %s", n.redact(err))
	}
	return c, nil
}

// redact removes the password from an error text, should a library ever
// echo it.
func (n *Notifier) redact(err error) string {
	s := err.Error()
	if len(n.Password) > 0 {
		s = strings.ReplaceAll(s, string(n.Password), "[redacted]")
	}
	return s
}

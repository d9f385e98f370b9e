// Package loopback runs receivers on 127.0.0.1 that stand in for the
// outside world of delivery: an SMTP inbox (go-smtp; plaintext, STARTTLS or
// implicit TLS with a fresh self-signed certificate; optional PLAIN auth)
// and a chat-robot endpoint that answers like WeCom and DingTalk. The demo
// and the tests deliver to them.
package loopback

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// InboxOptions configure an Inbox.
type InboxOptions struct {
	TLS                string // "none", "starttls" or "tls"
	Username, Password string // require PLAIN auth when set
}

// Inbox is an SMTP server on loopback that keeps every message.
type Inbox struct {
	Port int
	// RootCAs trusts the inbox's certificate (nil for TLS "none").
	RootCAs *x509.CertPool

	mu   sync.Mutex
	msgs [][]byte
	rcpt [][]string
	srv  *smtp.Server
}

// StartInbox starts an inbox.
func StartInbox(opt InboxOptions) (*Inbox, error) {
	in := &Inbox{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{in: in, opt: opt}, nil }))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 30*time.Second, 30*time.Second
	srv.AllowInsecureAuth = opt.TLS == "none"
	var ln net.Listener
	var err error
	if opt.TLS == "starttls" || opt.TLS == "tls" {
		cfg, pool, err := selfSigned()
		if err != nil {
			return nil, err
		}
		srv.TLSConfig, in.RootCAs = cfg, pool
		if opt.TLS == "tls" {
			ln, err = tls.Listen("tcp", "127.0.0.1:0", cfg)
		} else {
			ln, err = net.Listen("tcp", "127.0.0.1:0")
		}
		if err != nil {
			return nil, err
		}
	} else if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return nil, err
	}
	in.Port, in.srv = ln.Addr().(*net.TCPAddr).Port, srv
	go srv.Serve(ln)
	return in, nil
}

// Close stops the inbox.
func (in *Inbox) Close() error { return in.srv.Close() }

// Messages returns the raw messages received, oldest first, and their
// recipients.
func (in *Inbox) Messages() ([][]byte, [][]string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([][]byte(nil), in.msgs...), append([][]string(nil), in.rcpt...)
}

type session struct {
	in   *Inbox
	opt  InboxOptions
	to   []string
	auth bool
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.opt.Username || pass != s.opt.Password {
			return errors.New("invalid credentials")
		}
		s.auth = true
		return nil
	}), nil
}
func (s *session) Mail(string, *smtp.MailOptions) error {
	if s.opt.Username != "" && !s.auth {
		return smtp.ErrAuthRequired
	}
	return nil
}
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error { s.to = append(s.to, to); return nil }
func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.in.mu.Lock()
	s.in.msgs = append(s.in.msgs, b)
	s.in.rcpt = append(s.in.rcpt, s.to)
	s.in.mu.Unlock()
	return nil
}
func (s *session) Reset()        { s.to = nil }
func (s *session) Logout() error { return nil }

func selfSigned() (*tls.Config, *x509.CertPool, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool, nil
}

// Robot is a chat-robot webhook on loopback. It answers
// {"errcode":0,"errmsg":"ok"} (WeCom, DingTalk) and keeps every JSON body.
type Robot struct {
	URL string
	mu  sync.Mutex
	got []map[string]any
	srv *httptest.Server
}

// StartRobot starts a robot endpoint; its URL includes a key, as WeCom's do.
func StartRobot() *Robot {
	r := &Robot{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var body map[string]any
		if err := json.NewDecoder(io.LimitReader(req.Body, 1<<20)).Decode(&body); err != nil {
			http.Error(w, `{"errcode":40008,"errmsg":"invalid message type"}`, http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.got = append(r.got, body)
		r.mu.Unlock()
		io.WriteString(w, `{"errcode":0,"errmsg":"ok"}`)
	}))
	r.URL = r.srv.URL + "/cgi-bin/webhook/send?key=loopback"
	return r
}

// Received returns the JSON bodies received, oldest first.
func (r *Robot) Received() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.got...)
}

// Close stops the robot.
func (r *Robot) Close() { r.srv.Close() }

// Client is an HTTP client for the robot's server.
func (r *Robot) Client() *http.Client { return r.srv.Client() }

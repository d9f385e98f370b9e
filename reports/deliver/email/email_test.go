package email_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/xuri/excelize/v2"

	"github.com/payrecon/payrecon/reports/deliver"
	"github.com/payrecon/payrecon/reports/deliver/email"
)

const password = "s3cret-SMTP-pass"

// inbox is a real SMTP server on loopback that keeps what it receives.
type inbox struct {
	mu   sync.Mutex
	msgs [][]byte
	rcpt []string
}

type session struct{ in *inbox }

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != "robot@example.com" || pass != password {
			return errors.New("invalid credentials")
		}
		return nil
	}), nil
}
func (s *session) Mail(string, *smtp.MailOptions) error { return nil }
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.in.mu.Lock()
	s.in.rcpt = append(s.in.rcpt, to)
	s.in.mu.Unlock()
	return nil
}
func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.in.mu.Lock()
	s.in.msgs = append(s.in.msgs, b)
	s.in.mu.Unlock()
	return err
}
func (s *session) Reset()        {}
func (s *session) Logout() error { return nil }

// serve starts the inbox with a fresh self-signed certificate for
// 127.0.0.1, plain (STARTTLS offered) or implicit TLS.
func serve(t *testing.T, implicit bool) (*inbox, int, *x509.CertPool) {
	t.Helper()
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	in := &inbox{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{in: in}, nil }))
	srv.Domain = "localhost"
	srv.TLSConfig = tlsCfg
	var ln net.Listener
	if implicit {
		ln, err = tls.Listen("tcp", "127.0.0.1:0", tlsCfg)
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return in, ln.Addr().(*net.TCPAddr).Port, pool
}

func workbook(t *testing.T) []byte {
	f := excelize.NewFile()
	f.SetSheetName("Sheet1", "汇总")
	f.SetCellValue("汇总", "A1", "payrecon")
	var b bytes.Buffer
	if _, err := f.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestSendsWorkbook(t *testing.T) {
	for _, implicit := range []bool{false, true} {
		in, port, pool := serve(t, implicit)
		mode := email.STARTTLS
		if implicit {
			mode = email.Implicit
		}
		n := &email.Notifier{Host: "127.0.0.1", Port: port, TLS: mode, Username: "robot@example.com", Password: []byte(password),
			From: "payrecon <robot@example.com>", RootCAs: pool}
		wb := workbook(t)
		_, err := n.Notify(t.Context(), deliver.Message{Title: "对账报告 shop-ali 2026-11-20", Text: "交易 40 笔\nRECOVERED 4",
			To: []string{"accountant@example.com"}, Attachments: []deliver.Attachment{{Name: "shop-ali_2026-11-20.xlsx",
				ContentType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Data: wb}}})
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		if len(in.msgs) != 1 || in.rcpt[0] != "accountant@example.com" {
			t.Fatalf("%s: inbox %d messages, rcpt %v", mode, len(in.msgs), in.rcpt)
		}
		msg, err := mail.ReadMessage(bytes.NewReader(in.msgs[0]))
		if err != nil {
			t.Fatal(err)
		}
		subj, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		if subj != "对账报告 shop-ali 2026-11-20" {
			t.Fatalf("subject %q", subj)
		}
		_, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
		mr := multipart.NewReader(msg.Body, params["boundary"])
		var att []byte
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			if p.FileName() == "shop-ali_2026-11-20.xlsx" {
				raw, _ := io.ReadAll(p)
				att, _ = base64.StdEncoding.DecodeString(strings.ReplaceAll(strings.ReplaceAll(string(raw), "\r\n", ""), "\n", ""))
			}
		}
		if !bytes.Equal(att, wb) {
			t.Fatalf("%s: attachment differs from the workbook (%d vs %d bytes)", mode, len(att), len(wb))
		}
		f, err := excelize.OpenReader(bytes.NewReader(att))
		if err != nil || f.GetSheetList()[0] != "汇总" {
			t.Fatalf("attachment does not open as the workbook: %v", err)
		}
	}
}

func TestBadPasswordIsPermanentAndSecret(t *testing.T) {
	_, port, pool := serve(t, false)
	n := &email.Notifier{Host: "127.0.0.1", Port: port, TLS: email.STARTTLS, Username: "robot@example.com", Password: []byte("wrong-" + password),
		From: "robot@example.com", RootCAs: pool}
	retry, err := n.Notify(t.Context(), deliver.Message{Title: "x", Text: "y", To: []string{"a@example.com"}})
	if err == nil || retry || strings.Contains(err.Error(), password) {
		t.Fatalf("retry=%v err=%v", retry, err)
	}
	// An untrusted certificate is refused, not ignored.
	n = &email.Notifier{Host: "127.0.0.1", Port: port, TLS: email.STARTTLS, From: "robot@example.com"}
	if _, err := n.Notify(t.Context(), deliver.Message{Title: "x", Text: "y", To: []string{"a@example.com"}}); err == nil {
		t.Fatal("untrusted certificate accepted")
	}
}

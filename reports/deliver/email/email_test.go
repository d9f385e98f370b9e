package email_test

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/payrecon/payrecon/reports/deliver"
	"github.com/payrecon/payrecon/reports/deliver/email"
	"github.com/payrecon/payrecon/reports/deliver/loopback"
)

const password = "s3cret-SMTP-pass"

func serve(t *testing.T, implicit bool) (*loopback.Inbox, int, *x509.CertPool) {
	t.Helper()
	mode := "starttls"
	if implicit {
		mode = "tls"
	}
	in, err := loopback.StartInbox(loopback.InboxOptions{TLS: mode, Username: "robot@example.com", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	return in, in.Port, in.RootCAs
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
		msgs, rcpt := in.Messages()
		if len(msgs) != 1 || rcpt[0][0] != "accountant@example.com" {
			t.Fatalf("%s: inbox %d messages, rcpt %v", mode, len(msgs), rcpt)
		}
		msg, err := mail.ReadMessage(bytes.NewReader(msgs[0]))
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

// TestCheckAuthenticates: Check proves the server, TLS and credentials
// without sending anything; a wrong password fails without showing it.
func TestCheckAuthenticates(t *testing.T) {
	for _, implicit := range []bool{false, true} {
		in, port, pool := serve(t, implicit)
		mode := email.STARTTLS
		if implicit {
			mode = email.Implicit
		}
		n := &email.Notifier{Host: "127.0.0.1", Port: port, TLS: mode, Username: "robot@example.com", Password: []byte(password), From: "robot@example.com", RootCAs: pool}
		if err := n.Check(t.Context()); err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		bad := *n
		bad.Password = []byte("wrong-password-42")
		err := bad.Check(t.Context())
		if err == nil || strings.Contains(err.Error(), "wrong-password-42") {
			t.Fatalf("%s with a wrong password: %v", mode, err)
		}
		untrusted := *n
		untrusted.RootCAs = nil
		if err := untrusted.Check(t.Context()); err == nil {
			t.Fatalf("%s: an untrusted certificate passed", mode)
		}
		if msgs, _ := in.Messages(); len(msgs) != 0 {
			t.Fatalf("%s: Check sent %d messages", mode, len(msgs))
		}
	}
}

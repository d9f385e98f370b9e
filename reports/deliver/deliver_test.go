package deliver_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payrecon/payrecon/reports/deliver"
	"github.com/payrecon/payrecon/reports/deliver/dingtalk"
	"github.com/payrecon/payrecon/reports/deliver/feishu"
	"github.com/payrecon/payrecon/reports/deliver/slack"
	"github.com/payrecon/payrecon/reports/deliver/webhook"
	"github.com/payrecon/payrecon/reports/deliver/wecom"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

var now = time.Unix(1_800_000_000, 0)

const secret = "SECdemo-signing-secret-0123456789"

// receiver is a loopback robot endpoint: it checks each request with the
// given function and answers with reply.
type receiver struct {
	mu    sync.Mutex
	got   []map[string]any
	errs  []string
	check func(r *http.Request, body map[string]any) string
	reply string
	fail  int // answer 503 this many times first
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.fail > 0 {
		rc.fail--
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	b, _ := io.ReadAll(r.Body)
	var body map[string]any
	json.Unmarshal(b, &body)
	if msg := rc.check(r, body); msg != "" {
		rc.errs = append(rc.errs, msg)
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	rc.got = append(rc.got, body)
	io.WriteString(w, rc.reply)
}

func hmacB64(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestRobots(t *testing.T) {
	msg := deliver.Message{Key: "absent:shop:2026-11-20", Severity: "critical", Account: "shop", Title: "CONFIRMED_ABSENT: 1", Text: "order WGHOST"}
	clock := func() time.Time { return now }
	for _, tc := range []struct {
		name  string
		recv  *receiver
		build func(url string, hc *http.Client) deliver.Notifier
	}{
		{"dingtalk", &receiver{reply: `{"errcode":0,"errmsg":"ok"}`, check: func(r *http.Request, b map[string]any) string {
			// DingTalk: sign = base64(HMAC-SHA256(secret, timestamp+"\n"+secret)).
			ts, sign := r.URL.Query().Get("timestamp"), r.URL.Query().Get("sign")
			if ts != "1800000000000" || sign != hmacB64(secret, ts+"\n"+secret) || r.URL.Query().Get("access_token") != "tok" {
				return "bad dingtalk signature"
			}
			md, _ := b["markdown"].(map[string]any)
			if b["msgtype"] != "markdown" || !strings.Contains(md["text"].(string), "WGHOST") {
				return "bad dingtalk payload"
			}
			return ""
		}}, func(u string, hc *http.Client) deliver.Notifier {
			return &dingtalk.Notifier{URL: u + "/robot/send?access_token=tok", Secret: []byte(secret), HTTP: hc, Now: clock}
		}},
		{"feishu", &receiver{reply: `{"code":0,"msg":"success"}`, check: func(r *http.Request, b map[string]any) string {
			// Feishu: sign = base64(HMAC-SHA256(key=timestamp+"\n"+secret, "")).
			ts, _ := b["timestamp"].(string)
			if ts != "1800000000" || b["sign"] != hmacB64(ts+"\n"+secret, "") {
				return "bad feishu signature"
			}
			c, _ := b["content"].(map[string]any)
			if b["msg_type"] != "text" || !strings.Contains(c["text"].(string), "WGHOST") {
				return "bad feishu payload"
			}
			return ""
		}}, func(u string, hc *http.Client) deliver.Notifier {
			return &feishu.Notifier{URL: u + "/open-apis/bot/v2/hook/abc", Secret: []byte(secret), HTTP: hc, Now: clock}
		}},
		{"wecom", &receiver{reply: `{"errcode":0,"errmsg":"ok"}`, check: func(r *http.Request, b map[string]any) string {
			md, _ := b["markdown"].(map[string]any)
			if r.URL.Query().Get("key") != "k" || b["msgtype"] != "markdown" || !strings.Contains(md["content"].(string), "WGHOST") {
				return "bad wecom payload"
			}
			return ""
		}}, func(u string, hc *http.Client) deliver.Notifier {
			return &wecom.Notifier{URL: u + "/cgi-bin/webhook/send?key=k", HTTP: hc}
		}},
		{"slack", &receiver{reply: "ok", check: func(r *http.Request, b map[string]any) string {
			if s, _ := b["text"].(string); !strings.Contains(s, "WGHOST") {
				return "bad slack payload"
			}
			return ""
		}}, func(u string, hc *http.Client) deliver.Notifier {
			return &slack.Notifier{URL: u + "/hooks/x", HTTP: hc}
		}},
		{"webhook", &receiver{check: func(r *http.Request, b map[string]any) string {
			ts := r.Header.Get("X-Payrecon-Timestamp")
			if ts != "1800000000" || b["key"] != msg.Key || b["account"] != "shop" {
				return "bad webhook payload"
			}
			return ""
		}}, func(u string, hc *http.Client) deliver.Notifier {
			return &webhook.Notifier{URL: u + "/alert", Secret: []byte(secret), HTTP: hc, Now: clock}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.recv)
			defer srv.Close()
			n := tc.build(srv.URL, srv.Client())
			if _, err := n.Notify(t.Context(), msg); err != nil {
				t.Fatalf("notify: %v (receiver: %v)", err, tc.recv.errs)
			}
			if len(tc.recv.got) != 1 {
				t.Fatalf("received %d, errors %v", len(tc.recv.got), tc.recv.errs)
			}
		})
	}
}

// TestWebhookSignature checks the generic webhook's HMAC over the raw body.
func TestWebhookSignature(t *testing.T) {
	var sig, ts string
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sig, ts = r.Header.Get("X-Payrecon-Signature"), r.Header.Get("X-Payrecon-Timestamp")
		body, _ = io.ReadAll(r.Body)
	}))
	defer srv.Close()
	n := &webhook.Notifier{URL: srv.URL, Secret: []byte(secret), HTTP: srv.Client(), Now: func() time.Time { return now }}
	if _, err := n.Notify(t.Context(), deliver.Message{Key: "k", Title: "t"}); err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	if sig != "sha256="+hex.EncodeToString(m.Sum(nil)) {
		t.Fatalf("signature %q does not verify", sig)
	}
}

func TestDispatcher(t *testing.T) {
	db := storetest.MustOpen(t, store.Options{})
	recv := &receiver{reply: `{"errcode":0,"errmsg":"ok"}`, fail: 2, check: func(*http.Request, map[string]any) string { return "" }}
	srv := httptest.NewServer(recv)
	defer srv.Close()
	d := &deliver.Dispatcher{Log: db, Backoff: time.Millisecond, Channels: map[string]deliver.Notifier{
		"ops":  &wecom.Notifier{URL: srv.URL + "/send?key=k", HTTP: srv.Client()},
		"dead": &wecom.Notifier{URL: "http://127.0.0.1:1/cgi-bin/webhook/send?key=SECRETKEY", HTTP: srv.Client()},
	}}
	m := deliver.Message{Key: "run-failed:shop:2026-11-20", Title: "run failed"}
	// Two 503s, then delivered on the third attempt.
	if err := d.Send(t.Context(), m, "ops"); err != nil {
		t.Fatal(err)
	}
	// Same cause again within the window: not sent twice.
	if err := d.Send(t.Context(), m, "ops"); err != nil {
		t.Fatal(err)
	}
	if len(recv.got) != 1 {
		t.Fatalf("delivered %d times", len(recv.got))
	}
	// A channel that cannot be reached fails after its retries, is
	// recorded, and its error does not reveal the webhook key.
	err := d.Send(t.Context(), m, "dead")
	if err == nil || strings.Contains(err.Error(), "SECRETKEY") {
		t.Fatalf("err = %v", err)
	}
	ds, _ := db.Deliveries(t.Context(), 10)
	if len(ds) != 2 || ds[0].Status != "failed" || ds[0].Attempts != 4 || ds[1].Status != "sent" || ds[1].Attempts != 3 {
		t.Fatalf("deliveries %+v", ds)
	}
}

package deliver_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon/reports/deliver"
	"github.com/payrecon/payrecon/reports/deliver/dingtalk"
	"github.com/payrecon/payrecon/reports/deliver/feishu"
	"github.com/payrecon/payrecon/reports/deliver/wecom"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// echoRobot refuses every message with an error reply that echoes the URL
// it was called on (scheme, host, path and query) and the body, as some
// robots' "invalid webhook url" replies do, under the given code field.
func echoRobot(codeField, msgField string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		url := "http://" + r.Host + r.URL.RequestURI()
		reply, _ := json.Marshal(map[string]any{codeField: 310000,
			msgField: fmt.Sprintf("invalid webhook url %s (raw query %s, path %s), request %s", url, r.URL.RawQuery, r.URL.Path, body)})
		w.Write(reply)
	})
}

// TestFailedDeliveryStoresNoSecret: a robot whose error reply echoes its
// URL (with the access token, key or hook id) and the signed request
// leaves none of them in the deliveries row, the returned error or the
// log.
func TestFailedDeliveryStoresNoSecret(t *testing.T) {
	const (
		token   = "AccessTok3n-0123456789abcdef"
		hookID  = "6f0c6b1e-feed-4bee-beef-0123456789ab"
		signSec = "SECsigning-secret-do-not-leak"
	)
	clock := func() time.Time { return now }
	db := storetest.MustOpen(t, store.Options{})
	ding := httptest.NewServer(echoRobot("errcode", "errmsg"))
	defer ding.Close()
	wc := httptest.NewServer(echoRobot("errcode", "errmsg"))
	defer wc.Close()
	fs := httptest.NewServer(echoRobot("code", "msg"))
	defer fs.Close()
	var logs strings.Builder
	d := &deliver.Dispatcher{Log: db, Backoff: time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logs, nil)), Channels: map[string]deliver.Notifier{
		"ding":   &dingtalk.Notifier{URL: ding.URL + "/robot/send?access_token=" + token, Secret: []byte(signSec), HTTP: ding.Client(), Now: clock},
		"wecom":  &wecom.Notifier{URL: wc.URL + "/cgi-bin/webhook/send?key=" + token, HTTP: wc.Client()},
		"feishu": &feishu.Notifier{URL: fs.URL + "/open-apis/bot/v2/hook/" + hookID, Secret: []byte(signSec), HTTP: fs.Client(), Now: clock},
	}}
	err := d.Send(t.Context(), deliver.Message{Key: "run-failed:shop:2026-11-20", Title: "run failed", Text: "x"})
	if err == nil {
		t.Fatal("every robot refused, yet Send returned nil")
	}
	ds, err2 := db.Deliveries(t.Context(), 10)
	if err2 != nil || len(ds) != 3 {
		t.Fatalf("deliveries %+v, %v; want 3 failed", ds, err2)
	}
	sign := dingtalk.Sign([]byte(signSec), "1800000000000")
	leaks := []string{token, hookID, signSec, sign, feishu.Sign([]byte(signSec), "1800000000"), "access_token=" + token[:4], "key=" + token[:4]}
	texts := map[string]string{"error": err.Error(), "log": logs.String()}
	for _, dl := range ds {
		if dl.Status != "failed" || !strings.Contains(dl.Error, "310000") {
			t.Errorf("delivery %+v: want failed with the robot's code", dl)
		}
		texts["deliveries."+dl.Channel] = dl.Error
	}
	for where, text := range texts {
		for _, leak := range leaks {
			if strings.Contains(text, leak) {
				t.Errorf("%s contains %q: %s", where, leak, text)
			}
		}
	}
	t.Logf("stored: %s", ds[0].Error)
}

func TestRedactText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"see https://oapi.dingtalk.com/robot/send?access_token=abc", "see https://oapi.dingtalk.com/…"},
		{"bad key=abcdef&x=1", "bad key=…&x=1"},
		{"nothing secret", "nothing secret"},
		{`{"sign":"c2lnbg==","msg":"x"}`, `{"sign":"…","msg":"x"}`},
	} {
		if got := deliver.RedactText(tc.in); got != tc.want {
			t.Errorf("RedactText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := deliver.RedactText("token abcdef0123 echoed", "http://h/p?key=abcdef0123"); strings.Contains(got, "abcdef0123") {
		t.Errorf("a bare echoed key survived: %q", got)
	}
}

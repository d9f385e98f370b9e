// Package dingtalk sends alerts to a DingTalk (钉钉) group robot, signed
// with the robot's secret: sign = base64(HMAC-SHA256(secret,
// timestamp+"\n"+secret)), sent as &timestamp=…&sign=… on the webhook URL.
package dingtalk

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/payrecon/payrecon/reports/deliver"
)

// Notifier posts markdown messages to one robot.
type Notifier struct {
	URL    string // https://oapi.dingtalk.com/robot/send?access_token=…
	Secret []byte // optional "SEC…" signing secret
	HTTP   *http.Client
	Now    func() time.Time
}

// Sign returns the signature for timestamp (milliseconds).
func Sign(secret []byte, timestamp string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp + "\n" + string(secret)))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Notify implements deliver.Notifier.
func (n *Notifier) Notify(ctx context.Context, msg deliver.Message) (bool, error) {
	target := n.URL
	if len(n.Secret) > 0 {
		ts := strconv.FormatInt(n.Now().UnixMilli(), 10)
		target += "&timestamp=" + ts + "&sign=" + url.QueryEscape(Sign(n.Secret, ts))
	}
	body, _ := json.Marshal(map[string]any{"msgtype": "markdown", "markdown": map[string]string{
		"title": msg.Title, "text": "### " + msg.Title + "\n\n" + msg.Text}})
	status, resp, err := deliver.PostJSON(ctx, n.HTTP, target, body, nil)
	if err != nil {
		return true, fmt.Errorf("dingtalk: %w", err)
	}
	retry, err := deliver.CodeReply("dingtalk", status, resp, "errcode", "errmsg", 130101, -1)
	return retry, deliver.Redact(err, target, string(n.Secret)) // the reply may echo the URL
}

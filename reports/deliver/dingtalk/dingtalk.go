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

// MaxTextBytes bounds a markdown message's text. DingTalk's custom robot
// guide (https://open.dingtalk.com/document/orgapp/custom-robots-send-group-messages)
// limits a message to about 20000 bytes; payrecon keeps the text under
// that and cuts longer messages at a line boundary with "… 另有 N 条".
const MaxTextBytes = 20000

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
	head := "### " + msg.Title + "\n\n"
	text := head + deliver.Fit(msg.Text, MaxTextBytes-len(head), msg.Locale, func(s string) int { return len(s) })
	body, _ := json.Marshal(map[string]any{"msgtype": "markdown", "markdown": map[string]string{"title": msg.Title, "text": text}})
	status, resp, err := deliver.PostJSON(ctx, n.HTTP, target, body, nil)
	if err != nil {
		return true, fmt.Errorf("dingtalk: %w", err)
	}
	retry, err := deliver.CodeReply("dingtalk", status, resp, "errcode", "errmsg", 130101, -1)
	return retry, deliver.Redact(err, target, string(n.Secret)) // the reply may echo the URL
}

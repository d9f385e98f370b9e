// Package feishu sends alerts to a Feishu / Lark custom bot, signed with the
// bot's secret: sign = base64(HMAC-SHA256(key=timestamp+"\n"+secret, empty
// message)), sent in the body with the timestamp (seconds).
package feishu

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/payrecon/payrecon/reports/deliver"
)

// MaxBodyBytes is the most a custom bot's request body may hold: "发送消息
// 时，请求体的数据大小不能超过 20 KB" (Feishu, 自定义机器人使用指南,
// https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot).
// payrecon measures the JSON body it sends, signature included, and cuts
// longer messages at a line boundary with "… 另有 N 条".
const MaxBodyBytes = 20 << 10

// Notifier posts text messages to one bot.
type Notifier struct {
	URL    string // https://open.feishu.cn/open-apis/bot/v2/hook/…
	Secret []byte // optional signing secret
	HTTP   *http.Client
	Now    func() time.Time
}

// Sign returns the signature for timestamp (seconds).
func Sign(secret []byte, timestamp string) string {
	m := hmac.New(sha256.New, []byte(timestamp+"\n"+string(secret)))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Notify implements deliver.Notifier.
func (n *Notifier) Notify(ctx context.Context, msg deliver.Message) (bool, error) {
	payload := map[string]any{"msg_type": "text"}
	if len(n.Secret) > 0 {
		ts := strconv.FormatInt(n.Now().Unix(), 10)
		payload["timestamp"], payload["sign"] = ts, Sign(n.Secret, ts)
	}
	encode := func(text string) []byte {
		payload["content"] = map[string]string{"text": msg.Title + "\n" + text}
		b, _ := json.Marshal(payload)
		return b
	}
	body := encode(deliver.Fit(msg.Text, MaxBodyBytes, msg.Locale, func(s string) int { return len(encode(s)) }))
	status, resp, err := deliver.PostJSON(ctx, n.HTTP, n.URL, body, nil)
	if err != nil {
		return true, fmt.Errorf("feishu: %w", err)
	}
	retry, err := deliver.CodeReply("feishu", status, resp, "code", "msg", 9499)
	return retry, deliver.Redact(err, n.URL, string(n.Secret)) // the reply may echo the URL
}

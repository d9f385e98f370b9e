// Package wecom sends alerts to a WeCom (企业微信) group robot. The robot's
// key is part of its webhook URL; there is no separate signature.
package wecom

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/payrecon/payrecon/reports/deliver"
)

// MaxContentBytes is the most a group robot's markdown content may hold:
// "markdown.content … 最长不超过4096个字节，必须是utf8编码" (WeCom, 群机器人配置说明,
// https://developer.work.weixin.qq.com/document/path/91770). Longer
// messages are cut at a line boundary with "… 另有 N 条".
const MaxContentBytes = 4096

// Notifier posts markdown messages to one robot.
type Notifier struct {
	URL  string // https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…
	HTTP *http.Client
}

// Notify implements deliver.Notifier.
func (n *Notifier) Notify(ctx context.Context, msg deliver.Message) (bool, error) {
	head := "**" + msg.Title + "**\n"
	content := head + deliver.Fit(msg.Text, MaxContentBytes-len(head), msg.Locale, func(s string) int { return len(s) })
	body, _ := json.Marshal(map[string]any{"msgtype": "markdown", "markdown": map[string]string{"content": content}})
	status, resp, err := deliver.PostJSON(ctx, n.HTTP, n.URL, body, nil)
	if err != nil {
		return true, fmt.Errorf("wecom: %w", err)
	}
	retry, err := deliver.CodeReply("wecom", status, resp, "errcode", "errmsg", 45009, -1)
	return retry, deliver.Redact(err, n.URL) // the reply may echo the URL
}

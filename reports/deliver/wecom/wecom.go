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

// Notifier posts markdown messages to one robot.
type Notifier struct {
	URL  string // https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…
	HTTP *http.Client
}

// Notify implements deliver.Notifier.
func (n *Notifier) Notify(ctx context.Context, msg deliver.Message) (bool, error) {
	body, _ := json.Marshal(map[string]any{"msgtype": "markdown", "markdown": map[string]string{
		"content": "**" + msg.Title + "**\n" + msg.Text}})
	status, resp, err := deliver.PostJSON(ctx, n.HTTP, n.URL, body, nil)
	if err != nil {
		return true, fmt.Errorf("wecom: %w", err)
	}
	retry, err := deliver.CodeReply("wecom", status, resp, "errcode", "errmsg", 45009, -1)
	return retry, deliver.Redact(err, n.URL) // the reply may echo the URL
}

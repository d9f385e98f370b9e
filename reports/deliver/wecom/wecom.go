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
	if status != http.StatusOK {
		return deliver.Retryable(status), fmt.Errorf("wecom: HTTP %d", status)
	}
	var r struct {
		ErrCode int    `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if err := json.Unmarshal(resp, &r); err != nil {
		return true, fmt.Errorf("wecom: unreadable reply")
	}
	if r.ErrCode != 0 {
		// 45009: API frequency limit; -1: system busy.
		return r.ErrCode == 45009 || r.ErrCode == -1, fmt.Errorf("wecom: errcode %d %s", r.ErrCode, r.ErrMsg)
	}
	return false, nil
}

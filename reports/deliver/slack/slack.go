// Package slack sends alerts to a Slack-compatible incoming webhook
// (Slack, Mattermost, Rocket.Chat): POST {"text": …}.
package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/payrecon/payrecon/reports/deliver"
)

// Notifier posts to one incoming webhook.
type Notifier struct {
	URL  string
	HTTP *http.Client
}

// Notify implements deliver.Notifier.
func (n *Notifier) Notify(ctx context.Context, msg deliver.Message) (bool, error) {
	body, _ := json.Marshal(map[string]string{"text": "*" + msg.Title + "*\n" + msg.Text})
	status, _, err := deliver.PostJSON(ctx, n.HTTP, n.URL, body, nil)
	if err != nil {
		return true, fmt.Errorf("slack: %w", err)
	}
	if status < 200 || status >= 300 {
		return deliver.Retryable(status), fmt.Errorf("slack: HTTP %d", status)
	}
	return false, nil
}

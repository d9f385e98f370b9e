// Package webhook sends alerts as generic JSON to any HTTP endpoint. With a
// secret, each request carries X-Payrecon-Timestamp and
// X-Payrecon-Signature: sha256=hex(HMAC-SHA256(secret, timestamp+"."+body)).
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/payrecon/payrecon/reports/deliver"
)

// Notifier posts JSON to one endpoint.
type Notifier struct {
	URL    string
	Secret []byte // optional
	HTTP   *http.Client
	Now    func() time.Time
}

// Payload is the JSON body.
type Payload struct {
	Key      string    `json:"key"`
	Severity string    `json:"severity"`
	Account  string    `json:"account"`
	Title    string    `json:"title"`
	Text     string    `json:"text"`
	Time     time.Time `json:"time"`
}

// Sign returns the X-Payrecon-Signature value for a timestamp and body.
func Sign(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp + "."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Notify implements deliver.Notifier.
func (n *Notifier) Notify(ctx context.Context, msg deliver.Message) (bool, error) {
	now := n.Now()
	body, _ := json.Marshal(Payload{Key: msg.Key, Severity: msg.Severity, Account: msg.Account, Title: msg.Title, Text: msg.Text, Time: now.UTC()})
	h := http.Header{}
	if len(n.Secret) > 0 {
		ts := strconv.FormatInt(now.Unix(), 10)
		h.Set("X-Payrecon-Timestamp", ts)
		h.Set("X-Payrecon-Signature", Sign(n.Secret, ts, body))
	}
	status, _, err := deliver.PostJSON(ctx, n.HTTP, n.URL, body, h)
	if err != nil {
		return true, fmt.Errorf("webhook: %w", err)
	}
	if status < 200 || status >= 300 {
		return deliver.Retryable(status), fmt.Errorf("webhook: HTTP %d", status)
	}
	return false, nil
}

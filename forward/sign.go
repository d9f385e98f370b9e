// Package forward delivers the ledger's events to the merchant's app: every
// verified payment fact, once in effect, even when the provider dropped the
// callback and payrecon recovered it by query.
//
// Events come from the transactional outbox the store writes in the same
// transaction as each ledger change. A [Worker] posts them, signed per the
// Standard Webhooks specification (standardwebhooks.com, through its own Go
// library), in order per trade and concurrently across trades, retrying
// with backoff and jitter until the event is three days old. Delivery is
// at least once, under a webhook-id that never changes: an app dedups on
// it.
package forward

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// The Standard Webhooks headers.
const (
	HeaderID        = standardwebhooks.HeaderWebhookID
	HeaderTimestamp = standardwebhooks.HeaderWebhookTimestamp
	HeaderSignature = standardwebhooks.HeaderWebhookSignature
)

// ErrBadSignature is returned by [Verify] for a delivery that does not
// verify (missing headers, another secret, a changed body, a stale
// timestamp).
var ErrBadSignature = errors.New("bad webhook signature")

// Signer signs deliveries with one endpoint's secret.
type Signer struct {
	wh *standardwebhooks.Webhook
}

// NewSigner returns a signer for the decoded secret (the bytes after
// "whsec_", base64-decoded; see config.ParseForwardSecret).
func NewSigner(key []byte) (*Signer, error) {
	wh, err := standardwebhooks.NewWebhookRaw(key)
	if err != nil {
		return nil, fmt.Errorf("new signer: %w", err)
	}
	return &Signer{wh: wh}, nil
}

// Sign sets the three Standard Webhooks headers of a delivery of body
// under id at time at.
func (s *Signer) Sign(h http.Header, id string, at time.Time, body []byte) error {
	sig, err := s.wh.Sign(id, at, body)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
	h.Set(HeaderSignature, sig)
	return nil
}

// Verify checks a received delivery as a merchant's app would: the
// signature over id, timestamp and body, and a timestamp within five
// minutes of now.
func (s *Signer) Verify(h http.Header, body []byte) error {
	if err := s.wh.Verify(body, h); err != nil {
		return fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	return nil
}

// redact drops the URL from an HTTP client error (an endpoint URL may
// carry a token in its path or query).
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

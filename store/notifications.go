package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/payrecon/payrecon"
)

// RecordNotification stores a verified notification verbatim and applies
// its event to the ledger, in one transaction. It returns once both are
// durable. A redelivery of a recorded notification bumps its delivery
// count and changes nothing else.
func (db *DB) RecordNotification(ctx context.Context, raw payrecon.RawNotification, n *payrecon.Notification) (payrecon.Recorded, error) {
	hdr, err := json.Marshal(raw.Header)
	if err != nil {
		return payrecon.Recorded{}, fmt.Errorf("record notification: %w", err)
	}
	if raw.Body == nil {
		raw.Body = []byte{}
	}
	var rec payrecon.Recorded
	err = db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		rec = payrecon.Recorded{}
		at := fmtTime(raw.ReceivedAt)
		var deliveries int
		err := tx.QueryRowxContext(ctx, `
			INSERT INTO notifications (account, provider, protocol, dedup_key, event_type, event_kind,
				out_trade_no, signed_by, headers, body, received_at, last_received_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (account, dedup_key) DO UPDATE
				SET deliveries = notifications.deliveries + 1, last_received_at = excluded.last_received_at
			RETURNING id, deliveries`,
			n.Account, n.Provider, n.Protocol, n.DedupKey, n.EventType, n.Event.Kind,
			n.Event.OutTradeNo, n.SignedBy, string(hdr), raw.Body, at, at,
		).Scan(&rec.ID, &deliveries)
		if err != nil {
			return fmt.Errorf("insert notification: %w", err)
		}
		if deliveries > 1 {
			rec.Duplicate = true
			return nil
		}
		ref := fmt.Sprintf("notification:%d", rec.ID)
		a, err := applyEvent(ctx, tx, n.Account, n.Provider, &n.Event, payrecon.SourceNotify, ref, raw.ReceivedAt)
		if err != nil {
			return err
		}
		// Every applied notification is provenance, even a stale one.
		return recordApplied(ctx, tx, n.Account, a, payrecon.SourceNotify, ref, raw.ReceivedAt)
	})
	if err != nil {
		return payrecon.Recorded{}, fmt.Errorf("record notification: %w", err)
	}
	return rec, nil
}

package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/payrecon/payrecon"
)

// MaxQuarantineBody is how much of a rejected body is kept.
const MaxQuarantineBody = 64 << 10

// Quarantine records a rejected notification. It never touches the ledger.
func (db *DB) Quarantine(ctx context.Context, r payrecon.Rejected) error {
	hdr, err := json.Marshal(r.Header)
	if err != nil {
		return fmt.Errorf("quarantine: %w", err)
	}
	body, truncated := r.Body, false
	if body == nil {
		body = []byte{}
	}
	if len(body) > MaxQuarantineBody {
		body, truncated = body[:MaxQuarantineBody], true
	}
	if r.BodySize > int64(len(body)) {
		truncated = true
	}
	err = db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO quarantine (received_at, account, provider, reason, detail, method, remote_addr, headers, body, body_size, body_truncated)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			fmtTime(r.ReceivedAt), r.Account, r.Provider, r.Reason, r.Detail, r.Method, r.RemoteAddr,
			string(hdr), body, r.BodySize, truncated)
		return err
	})
	if err != nil {
		return fmt.Errorf("quarantine: %w", err)
	}
	return nil
}

// QuarantineSummary counts rejections by account and reason.
type QuarantineSummary struct {
	Account string `db:"account" json:"account"`
	Reason  string `db:"reason" json:"reason"`
	Count   int64  `db:"n" json:"count"`
}

// QuarantineByReason counts quarantined notifications by account and reason.
func (db *DB) QuarantineByReason(ctx context.Context) ([]QuarantineSummary, error) {
	var out []QuarantineSummary
	err := db.read.SelectContext(ctx, &out, `SELECT account, reason, count(*) AS n FROM quarantine GROUP BY account, reason ORDER BY account, reason`)
	if err != nil {
		return nil, fmt.Errorf("quarantine summary: %w", err)
	}
	return out, nil
}

// RejectedSince counts quarantined notifications per account received at or
// after since, excluding signature probes.
func (db *DB) RejectedSince(ctx context.Context, since time.Time) (map[string]int, error) {
	var rows []struct {
		Account string `db:"account"`
		N       int    `db:"n"`
	}
	if err := db.read.SelectContext(ctx, &rows, `SELECT account, count(*) AS n FROM quarantine WHERE received_at >= ? AND reason != 'probe' GROUP BY account`, fmtTime(since)); err != nil {
		return nil, fmt.Errorf("rejected since: %w", err)
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.Account] = r.N
	}
	return out, nil
}

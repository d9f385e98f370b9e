package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/payrecon/payrecon"
)

// QuarantineFilter selects quarantined notifications. Zero fields select
// everything.
type QuarantineFilter struct {
	Account string
	Reason  string
	Since   time.Time // received at or after
	Limit   int       // newest first; default 100
}

// quarantineDBRow is one quarantine row as SQLite returns it.
type quarantineDBRow struct {
	ID         int64  `db:"id"`
	ReceivedAt string `db:"received_at"`
	Account    string `db:"account"`
	Provider   string `db:"provider"`
	Reason     string `db:"reason"`
	Detail     string `db:"detail"`
	Method     string `db:"method"`
	RemoteAddr string `db:"remote_addr"`
	Headers    string `db:"headers"`
	Body       []byte `db:"body"`
	BodySize   int64  `db:"body_size"`
	Truncated  bool   `db:"body_truncated"`
}

const quarantineColumns = `id, received_at, account, provider, reason, detail, method, remote_addr, headers, body, body_size, body_truncated`

func (r quarantineDBRow) quarantined() (Quarantined, error) {
	q := Quarantined{ID: r.ID, Rejected: payrecon.Rejected{Account: r.Account, Provider: r.Provider, Reason: r.Reason, Detail: r.Detail,
		Method: r.Method, RemoteAddr: r.RemoteAddr, Body: r.Body, BodySize: r.BodySize}, Truncated: r.Truncated}
	var err error
	if q.ReceivedAt, err = parseTime(r.ReceivedAt); err != nil {
		return Quarantined{}, err
	}
	if err := json.Unmarshal([]byte(r.Headers), &q.Header); err != nil {
		return Quarantined{}, err
	}
	return q, nil
}

// QuarantineList returns the quarantined notifications f selects, newest
// first. It only reads, and works beside a running serve.
func (db *DB) QuarantineList(ctx context.Context, f QuarantineFilter) ([]Quarantined, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	var rows []quarantineDBRow
	err := db.read.SelectContext(ctx, &rows, `SELECT `+quarantineColumns+` FROM quarantine
		WHERE (? = '' OR account = ?) AND (? = '' OR reason = ?) AND received_at >= ?
		ORDER BY id DESC LIMIT ?`, f.Account, f.Account, f.Reason, f.Reason, fmtTime(f.Since), f.Limit)
	if err != nil {
		return nil, fmt.Errorf("quarantine list: %w", err)
	}
	out := make([]Quarantined, 0, len(rows))
	for _, r := range rows {
		q, err := r.quarantined()
		if err != nil {
			return nil, fmt.Errorf("quarantine list: %w", err)
		}
		out = append(out, q)
	}
	return out, nil
}

// QuarantineEntry returns one quarantined notification by id, or an error
// wrapping [ErrNotFound].
func (db *DB) QuarantineEntry(ctx context.Context, id int64) (Quarantined, error) {
	var r quarantineDBRow
	err := db.read.GetContext(ctx, &r, `SELECT `+quarantineColumns+` FROM quarantine WHERE id = ?`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Quarantined{}, fmt.Errorf("quarantine %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Quarantined{}, fmt.Errorf("quarantine %d: %w", id, err)
	}
	q, err := r.quarantined()
	if err != nil {
		return Quarantined{}, fmt.Errorf("quarantine %d: %w", id, err)
	}
	return q, nil
}

// RejectReasonsSince counts quarantined notifications received at or after
// since by account and reason (account → reason → count), signature probes
// excluded.
func (db *DB) RejectReasonsSince(ctx context.Context, since time.Time) (map[string]map[string]int, error) {
	var rows []QuarantineSummary
	err := db.read.SelectContext(ctx, &rows, `SELECT account, reason, count(*) AS n FROM quarantine
		WHERE received_at >= ? AND reason != 'probe' GROUP BY account, reason`, fmtTime(since))
	if err != nil {
		return nil, fmt.Errorf("reject reasons: %w", err)
	}
	out := map[string]map[string]int{}
	for _, r := range rows {
		if out[r.Account] == nil {
			out[r.Account] = map[string]int{}
		}
		out[r.Account][r.Reason] = int(r.Count)
	}
	return out, nil
}

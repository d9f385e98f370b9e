package store

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/payrecon/payrecon"
)

// QuarantineLimits bound the quarantine. Zero fields take the defaults.
type QuarantineLimits struct {
	// EntryBytes caps what one rejection stores: the allow-listed headers,
	// the detail and a prefix of the body together (default 16 KiB).
	EntryBytes int
	// MaxBytes caps the whole quarantine; past it the oldest rows are
	// dropped (default 64 MiB).
	MaxBytes int64
	// MaxAge drops rows older than this (default 30 days).
	MaxAge time.Duration
}

func (l QuarantineLimits) withDefaults() QuarantineLimits {
	if l.EntryBytes <= 0 {
		l.EntryBytes = 16 << 10
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = 64 << 20
	}
	if l.MaxAge <= 0 {
		l.MaxAge = 30 * 24 * time.Hour
	}
	return l
}

// Parts of a rejection other than the body never take more than these.
const (
	maxQuarantineDetail = 512
	maxQuarantineHeader = 1 << 10 // one header value
	maxQuarantineShort  = 256     // account, method, remote address, …
)

// quarantineRow is what one rejection stores, already within the caps.
type quarantineRow struct {
	r         payrecon.Rejected
	headers   []byte
	body      []byte
	truncated bool
	stored    int
}

func (l QuarantineLimits) row(r payrecon.Rejected) (quarantineRow, error) {
	for _, s := range []*string{&r.Account, &r.Provider, &r.Reason, &r.Method, &r.RemoteAddr} {
		*s = cut(*s, maxQuarantineShort)
	}
	r.Detail = cut(r.Detail, maxQuarantineDetail)
	hdr, err := json.Marshal(boundHeaders(payrecon.KeepHeaders(r.Header), l.EntryBytes/4))
	if err != nil {
		return quarantineRow{}, err
	}
	room := max(l.EntryBytes-len(hdr)-len(r.Detail), 0)
	q := quarantineRow{r: r, headers: hdr, body: r.Body}
	if q.body == nil {
		q.body = []byte{}
	}
	if len(q.body) > room {
		q.body, q.truncated = q.body[:room], true
	}
	if r.BodySize > int64(len(q.body)) {
		q.truncated = true
	}
	q.stored = len(q.headers) + len(q.body) + len(r.Detail)
	return q, nil
}

// boundHeaders truncates each value and stops adding values at budget
// bytes.
func boundHeaders(h http.Header, budget int) http.Header {
	out := http.Header{}
	for k, vs := range h {
		for _, v := range vs {
			v = cut(v, maxQuarantineHeader)
			if budget -= len(k) + len(v) + 8; budget < 0 {
				return out
			}
			out[k] = append(out[k], v)
		}
	}
	return out
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Quarantine records a rejected notification within the limits of
// [Options.Quarantine], dropping the oldest rows past the caps. It never
// touches the ledger.
func (db *DB) Quarantine(ctx context.Context, r payrecon.Rejected) error {
	lim := db.opt.Quarantine
	if db.pg {
		r = pgText(r)
	}
	q, err := lim.row(r)
	if err != nil {
		return fmt.Errorf("quarantine: %w", err)
	}
	err = db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO quarantine (received_at, account, provider, reason, detail, method, remote_addr, headers, body, body_size, body_truncated, stored_bytes)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			fmtTime(q.r.ReceivedAt), q.r.Account, q.r.Provider, q.r.Reason, q.r.Detail, q.r.Method, q.r.RemoteAddr,
			string(q.headers), q.body, q.r.BodySize, q.truncated, q.stored); err != nil {
			return err
		}
		return pruneQuarantine(ctx, tx, lim, q.r.ReceivedAt)
	})
	if err != nil {
		return fmt.Errorf("quarantine: %w", err)
	}
	return nil
}

// pruneQuarantine drops rows older than MaxAge, then, when over MaxBytes,
// the oldest rows until the quarantine is back under 90% of it (so that a
// flood prunes once per tenth of the cap, not on every row).
func pruneQuarantine(ctx context.Context, tx *sqlx.Tx, lim QuarantineLimits, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM quarantine WHERE received_at < ?`, fmtTime(now.Add(-lim.MaxAge))); err != nil {
		return err
	}
	var total int64
	if err := tx.GetContext(ctx, &total, `SELECT bytes FROM quarantine_usage WHERE id = 1`); err != nil {
		return err
	}
	if total <= lim.MaxBytes {
		return nil
	}
	_, err := tx.ExecContext(ctx, `
		DELETE FROM quarantine WHERE id IN (
			SELECT id FROM (SELECT id, sum(stored_bytes) OVER (ORDER BY id DESC) AS newer FROM quarantine) AS q
			WHERE newer > ?)`, lim.MaxBytes*9/10)
	return err
}

// QuarantineUsage reports the quarantine's rows, stored bytes, and the
// rows dropped by its caps since the ledger was created.
func (db *DB) QuarantineUsage(ctx context.Context) (payrecon.QuarantineUsage, error) {
	var u struct {
		Rows    int64 `db:"rows"`
		Bytes   int64 `db:"bytes"`
		Dropped int64 `db:"dropped"`
	}
	if err := db.read.GetContext(ctx, &u, `SELECT rows, bytes, dropped FROM quarantine_usage WHERE id = 1`); err != nil {
		return payrecon.QuarantineUsage{}, fmt.Errorf("quarantine usage: %w", err)
	}
	return payrecon.QuarantineUsage(u), nil
}

// Quarantined is one quarantined notification as stored.
type Quarantined struct {
	// ID numbers the row (payrecon quarantine -id N).
	ID int64
	payrecon.Rejected
	// Truncated is true when Body is a prefix of what arrived.
	Truncated bool
}

// QuarantineRows returns the newest limit quarantined notifications,
// newest first.
func (db *DB) QuarantineRows(ctx context.Context, limit int) ([]Quarantined, error) {
	return db.QuarantineList(ctx, QuarantineFilter{Limit: limit})
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

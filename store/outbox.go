package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/payrecon/payrecon"
)

// SyncEndpoints makes the configured endpoints the outbox's: new ones are
// added (they receive events written from now on; replay sends older
// ones), changed account lists are updated, and endpoints no longer
// configured are removed with their undelivered events. A disabled
// endpoint stays disabled until a replay.
func (db *DB) SyncEndpoints(ctx context.Context, eps []payrecon.Endpoint) error {
	err := db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		names := make([]any, 0, len(eps))
		for _, ep := range eps {
			accts := ""
			if len(ep.Accounts) > 0 {
				accts = "," + strings.Join(ep.Accounts, ",") + ","
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO endpoints (name, accounts) VALUES (?, ?)
				ON CONFLICT (name) DO UPDATE SET accounts = excluded.accounts`, ep.Name, accts); err != nil {
				return err
			}
			names = append(names, ep.Name)
		}
		keep := "SELECT name FROM endpoints WHERE name NOT IN (" + placeholders(len(names)) + ")"
		if _, err := tx.ExecContext(ctx, `DELETE FROM event_deliveries WHERE status = 'pending' AND endpoint IN (`+keep+`)`, names...); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM endpoints WHERE name IN (`+keep+`)`, names...)
		return err
	})
	if err != nil {
		return fmt.Errorf("sync endpoints: %w", err)
	}
	return nil
}

// placeholders is "?, ?, …" for n values ("NULL" for none, so IN () stays valid).
func placeholders(n int) string {
	if n == 0 {
		return "NULL"
	}
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

type dueRow struct {
	Endpoint  string `db:"endpoint"`
	Seq       int64  `db:"seq"`
	EventID   string `db:"event_id"`
	Stream    string `db:"stream"`
	Body      []byte `db:"body"`
	Attempts  int    `db:"attempts"`
	CreatedAt string `db:"created_at"`
}

// DueDeliveries returns up to limit deliveries due at now, each the head
// of its stream at its endpoint (a stream's later events wait until the
// head is delivered or failed), skipping disabled endpoints and the
// lanes in busy (see [payrecon.Delivery.Lane]).
func (db *DB) DueDeliveries(ctx context.Context, now time.Time, busy map[string]bool, limit int) ([]payrecon.Delivery, error) {
	q, args := dueQuery(now, busy, limit, "")
	var rows []dueRow
	if err := db.read.SelectContext(ctx, &rows, q, args...); err != nil {
		return nil, fmt.Errorf("due deliveries: %w", err)
	}
	return dueDeliveries(rows)
}

// dueQuery is DueDeliveries' query, with a locking clause appended.
func dueQuery(now time.Time, busy map[string]bool, limit int, lock string) (string, []any) {
	// The busy lanes are left out before the event (and its body) is read:
	// they are the heads in flight, the oldest due, and would fill the
	// LIMIT only to be dropped.
	args := make([]any, 0, 2*len(busy)+2)
	args = append(args, fmtTime(now))
	for lane := range busy { // "endpoint\x00stream" ([payrecon.Delivery.Lane])
		endpoint, stream, _ := strings.Cut(lane, "\x00")
		args = append(args, endpoint, stream)
	}
	args = append(args, limit)
	notBusy := ""
	if len(busy) > 0 { // NOT IN (NULL) would leave nothing
		notBusy = `AND (d.endpoint, d.stream) NOT IN (VALUES ` + strings.TrimSuffix(strings.Repeat("(?, ?), ", len(busy)), ", ") + `)`
	}
	return `
		SELECT d.endpoint, d.seq, e.event_id, d.stream, e.body, d.attempts, e.created_at
		FROM event_deliveries d
		JOIN events e ON e.seq = d.seq
		JOIN endpoints p ON p.name = d.endpoint
		WHERE d.status = 'pending' AND d.next_at <= ? AND p.disabled_at IS NULL
		  ` + notBusy + `
		  AND d.seq = (SELECT min(x.seq) FROM event_deliveries x
		               WHERE x.endpoint = d.endpoint AND x.stream = d.stream AND x.status = 'pending')
		ORDER BY d.next_at, d.seq LIMIT ?` + lock, args
}

func dueDeliveries(rows []dueRow) ([]payrecon.Delivery, error) {
	out := make([]payrecon.Delivery, 0, len(rows))
	for _, r := range rows {
		d := payrecon.Delivery{Endpoint: r.Endpoint, Seq: r.Seq, EventID: r.EventID, Stream: r.Stream, Body: r.Body, Attempts: r.Attempts}
		var err error
		if d.CreatedAt, err = parseTime(r.CreatedAt); err != nil {
			return nil, fmt.Errorf("due deliveries: %w", err)
		}
		out = append(out, d)
	}
	return out, nil
}

// RecordAttempt stores the outcome of one delivery attempt. Only a pending
// delivery changes: an attempt racing a replay or a sync changes nothing.
func (db *DB) RecordAttempt(ctx context.Context, a payrecon.Attempt) error {
	return db.RecordAttempts(ctx, []payrecon.Attempt{a})
}

// RecordAttempts stores the outcomes of several delivery attempts in one
// write, all or none, as [DB.RecordAttempt] stores one.
func (db *DB) RecordAttempts(ctx context.Context, as []payrecon.Attempt) error {
	if len(as) == 0 {
		return nil
	}
	err := db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		st, err := tx.PreparexContext(ctx, `UPDATE event_deliveries
			SET status = ?, attempts = attempts + 1, next_at = ?, last_error = ?, delivered_at = ?
			WHERE endpoint = ? AND seq = ? AND status = 'pending'`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, a := range as {
			var deliveredAt any
			if a.Status == payrecon.DeliveryDelivered {
				deliveredAt = fmtTime(a.At)
			}
			next := a.NextAt
			if next.IsZero() {
				next = a.At
			}
			if _, err := st.ExecContext(ctx, a.Status, fmtTime(next), a.Error, deliveredAt, a.Endpoint, a.Seq); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record attempt: %w", err)
	}
	return nil
}

// EventsWritten receives after a commit that wrote outbox deliveries (new
// events, or a replay), so the delivery worker need not poll to hear of
// them. It has one receiver; signals that come while one is unread merge.
func (db *DB) EventsWritten() <-chan struct{} { return db.events }

func (db *DB) wakeOutbox() {
	select {
	case db.events <- struct{}{}:
	default:
	}
}

// DisableEndpoint stops deliveries to an endpoint (it answered 410 Gone);
// its events stay pending until a replay enables it again.
func (db *DB) DisableEndpoint(ctx context.Context, name, reason string) error {
	err := db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE endpoints SET disabled_at = ?, disabled_reason = ? WHERE name = ? AND disabled_at IS NULL`,
			fmtTime(db.opt.Now()), reason, name)
		return err
	})
	if err != nil {
		return fmt.Errorf("disable endpoint: %w", err)
	}
	return nil
}

// Replay makes events pending again at every configured endpoint that
// takes their account (creating the deliveries an endpoint added later
// lacks) and enables disabled endpoints: the events named by ids, or,
// with no ids, every event written at or after since. It returns how many
// events it queued.
func (db *DB) Replay(ctx context.Context, ids []string, since time.Time) (int, error) {
	where, args := "e.created_at >= ?", []any{fmtTime(since)}
	if len(ids) > 0 {
		where, args = "e.event_id IN ("+placeholders(len(ids))+")", make([]any, len(ids))
		for i, id := range ids {
			args[i] = id
		}
	}
	var n int
	err := db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		now := fmtTime(db.opt.Now())
		if err := tx.GetContext(ctx, &n, `SELECT count(*) FROM events e WHERE `+where, args...); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO event_deliveries (endpoint, seq, stream, status, next_at)
			SELECT p.name, e.seq, e.stream, 'pending', ? FROM events e JOIN endpoints p
			  ON p.accounts = '' OR instr(p.accounts, ',' || e.account || ',') > 0
			WHERE `+where+`
			ON CONFLICT (endpoint, seq) DO UPDATE SET status = 'pending', attempts = 0, next_at = excluded.next_at,
				last_error = '', delivered_at = NULL`, append([]any{now}, args...)...); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE endpoints SET disabled_at = NULL, disabled_reason = ''`)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("replay: %w", err)
	}
	db.wakeOutbox()
	return n, nil
}

// EventFilter selects outbox events.
type EventFilter struct {
	Account string
	// Status keeps events whose summed-up status is this ("": any).
	Status payrecon.DeliveryStatus
	// After keeps events with Seq > After.
	After int64
	// Limit caps the result (0: no limit).
	Limit int
}

type eventRow struct {
	Seq    int64          `db:"seq"`
	Body   []byte         `db:"body"`
	Status sql.NullString `db:"status"`
}

// eventStatus sums up an event's deliveries (see [payrecon.OutboxEvent]).
const eventStatus = `(SELECT CASE WHEN count(*) = 0 THEN NULL
	WHEN sum(CASE WHEN d.status = 'failed' THEN 1 ELSE 0 END) > 0 THEN 'failed'
	WHEN sum(CASE WHEN d.status = 'pending' THEN 1 ELSE 0 END) > 0 THEN 'pending' ELSE 'delivered' END
	FROM event_deliveries d WHERE d.seq = e.seq)`

// Events lists outbox events in Seq order. A reader paging with After
// never skips an event: a page holds no event while one with a lower Seq
// is still to commit (on PostgreSQL it reads up to [DB.eventsHorizon]).
func (db *DB) Events(ctx context.Context, f EventFilter) ([]payrecon.OutboxEvent, error) {
	q := `SELECT * FROM (SELECT e.seq, e.body, ` + eventStatus + ` AS status FROM events e WHERE e.seq > ?`
	args := []any{f.After}
	if db.pg {
		h, err := db.eventsHorizon(ctx)
		if err != nil {
			return nil, fmt.Errorf("events: %w", err)
		}
		q += ` AND e.seq <= ?`
		args = append(args, h)
	}
	if f.Account != "" {
		q += ` AND e.account = ?`
		args = append(args, f.Account)
	}
	q += `) AS x WHERE (? = '' OR status = ?) ORDER BY seq`
	args = append(args, f.Status, f.Status)
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	var rows []eventRow
	if err := db.read.SelectContext(ctx, &rows, q, args...); err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	return convert(rows, func(r eventRow) (payrecon.OutboxEvent, error) {
		ev := payrecon.OutboxEvent{Seq: r.Seq, Body: r.Body, Status: payrecon.DeliveryStatus(r.Status.String)}
		return ev, jsonUnmarshal(r.Body, &ev.AppEvent)
	}, "events")
}

// Outbox returns the outbox's backlog.
func (db *DB) Outbox(ctx context.Context) (payrecon.OutboxStats, error) {
	var r struct {
		N      int            `db:"n"`
		Oldest sql.NullString `db:"oldest"`
	}
	err := db.read.GetContext(ctx, &r, `SELECT count(*) AS n, min(e.created_at) AS oldest
		FROM event_deliveries d JOIN events e ON e.seq = d.seq WHERE d.status = 'pending'`)
	if err != nil {
		return payrecon.OutboxStats{}, fmt.Errorf("outbox: %w", err)
	}
	oldest, err := parseNullTime(r.Oldest)
	if err != nil {
		return payrecon.OutboxStats{}, fmt.Errorf("outbox: %w", err)
	}
	return payrecon.OutboxStats{Pending: r.N, OldestPending: oldest}, nil
}

// EventsAfter returns at most limit events with Seq > after, in Seq order
// (the pull API's page).
func (db *DB) EventsAfter(ctx context.Context, after int64, limit int) ([]payrecon.OutboxEvent, error) {
	return db.Events(ctx, EventFilter{After: after, Limit: limit})
}

package store

// Everything PostgreSQL-specific lives here: recognising a database URL,
// the connection (pgx's database/sql driver, whose connections rewrite the
// store's "?" placeholders to "$n", so the SQL of the other files serves
// both backends), the embedded PostgreSQL migrations, the write path
// (ordinary READ COMMITTED transactions, concurrent from any number of
// processes; no single-writer goroutine) and the locks that keep it as
// serial as SQLite where it must be.
//
// Locking on PostgreSQL: a writer of a trade (or transfer) first takes a
// transaction-scoped advisory lock on its natural key, so two writers of the
// same trade run one after the other even when the row does not exist yet,
// and forward-only status holds; writing an event takes the events lock in
// shared mode (writers never wait for each other) and its stream's lock, so
// a stream's events commit in seq order, and a reader following the seq
// cursor takes the events lock exclusively for a moment to learn how far
// every event has committed (eventsHorizon), so it never skips one that
// commits late; replacing a day's discrepancies locks (account, day). Everything else is a single statement (ON CONFLICT,
// UPDATE … WHERE) whose row locks suffice.

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"

	"github.com/payrecon/payrecon"
)

// pgMigrations are the PostgreSQL twins of migrations: one file of the same
// name for each, recorded under the same name in schema_migrations.
//
//go:embed migrations/postgres/*.sql
var pgMigrations embed.FS

// pgDriver is the driver name the PostgreSQL handles carry (sqlx.Tx.DriverName).
const pgDriver = "pgx"

// pgMaxConns bounds the pool: concurrent writers beyond it queue in
// database/sql rather than in PostgreSQL.
const pgMaxConns = 16

// openPostgres connects, migrates and uses one pool for reads and writes.
func (db *DB) openPostgres(ctx context.Context, source string) error {
	cfg, err := pgx.ParseConfig(source)
	if err != nil {
		// pgx's message may quote the URL: name the problem, not the URL.
		return fmt.Errorf("parse database URL %s: invalid PostgreSQL URL", Redact(source))
	}
	sqldb := sql.OpenDB(rebindConnector{stdlib.GetConnector(*cfg)})
	sqldb.SetMaxOpenConns(pgMaxConns)
	sqldb.SetMaxIdleConns(pgMaxConns)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	x := sqlx.NewDb(sqldb, pgDriver)
	if err := x.PingContext(ctx); err != nil {
		x.Close()
		return fmt.Errorf("connect %s: %w", Redact(source), err)
	}
	db.write, db.read, db.pg = x, x, true
	if err := db.migratePostgres(ctx); err != nil {
		x.Close()
		return err
	}
	return nil
}

// migratePostgres applies the PostgreSQL migrations on one connection that
// holds a session advisory lock, so replicas starting together migrate one
// at a time.
func (db *DB) migratePostgres(ctx context.Context) error {
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(hashtextextended('payrecon:migrate', 0))`); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	err = migrateFS(ctx, conn, pgMigrations, "migrations/postgres", db.opt.Now())
	// Unlock with a fresh context: a cancelled ctx must not leave the lock
	// held by a pooled connection.
	_, uerr := conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtextextended('payrecon:migrate', 0))`)
	if err != nil {
		return err
	}
	if uerr != nil {
		return fmt.Errorf("migrate: unlock: %w", uerr)
	}
	return nil
}

// pgRetries bounds the retries of a write transaction that PostgreSQL
// aborted to break a deadlock or a serialization conflict.
const pgRetries = 8

// updatePostgres runs fn in its own READ COMMITTED transaction, retrying it
// (from the start, as group commit replays requests) when PostgreSQL aborts
// it with a deadlock or serialization failure.
func (db *DB) updatePostgres(ctx context.Context, fn func(ctx context.Context, tx *sqlx.Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := db.ownTx(ctx, fn)
		if err == nil || attempt == pgRetries || !retryable(err) {
			return err
		}
		wait := time.Duration(1+rand.IntN(1<<min(attempt, 6))) * time.Millisecond
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		}
	}
}

// ownTx runs fn in a transaction of its own (PostgreSQL, and SQLite
// without group commit) and tells the outbox of the events it wrote.
func (db *DB) ownTx(ctx context.Context, fn func(ctx context.Context, tx *sqlx.Tx) error) error {
	ctx, notes := withTxNotes(ctx)
	tx, err := db.write.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	db.committed(notes)
	return nil
}

// retryable reports whether err is PostgreSQL aborting a transaction that
// may succeed if run again: serialization_failure or deadlock_detected.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// lockKey takes, on PostgreSQL, a transaction-scoped advisory lock on key:
// writers of the same key run one after the other, even for a row that
// does not exist yet. On SQLite, where one writer runs at a time, it does
// nothing. Locks are re-entrant within a transaction.
func lockKey(ctx context.Context, tx *sqlx.Tx, key string) error {
	if tx.DriverName() != pgDriver {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(?, 0))`, key); err != nil {
		return fmt.Errorf("lock %s: %w", key, err)
	}
	return nil
}

// eventsLock is the advisory lock key every event writer holds shared, from
// before its insert allocates the seq to its commit.
const eventsLock = "events"

// insertEventPostgres is writeEvent's insert on PostgreSQL, in one round
// trip: it takes the events lock in shared mode and the stream's lock
// exclusively (both until commit), then inserts the event (its seq is
// allocated after the locks are held) unless its fact is known, with its
// deliveries. It reports whether it inserted the event.
//
// The shared lock lets writers run concurrently but keeps eventsHorizon
// waiting until every seq allocated before it has committed or rolled back.
func insertEventPostgres(ctx context.Context, tx *sqlx.Tx, e outEvent, ae payrecon.AppEvent, body []byte, now time.Time) (bool, error) {
	var seq int64
	err := tx.QueryRowxContext(ctx, `
		WITH l AS MATERIALIZED (
			SELECT pg_advisory_xact_lock_shared(hashtextextended(?, 0)), pg_advisory_xact_lock(hashtextextended(?, 0))
		), ev AS (
			INSERT INTO events (event_id, account, fact_key, type, provider, stream, source, created_at, body)
			SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? FROM l
			ON CONFLICT (account, fact_key) DO NOTHING
			RETURNING seq
		), d AS (
			INSERT INTO event_deliveries (endpoint, seq, stream, status, next_at)
			SELECT p.name, ev.seq, ?, 'pending', ? FROM ev, endpoints p
			WHERE p.accounts = '' OR instr(p.accounts, ',' || ? || ',') > 0
		)
		SELECT seq FROM ev`,
		eventsLock, "stream/"+e.stream,
		ae.ID, e.account, e.factKey, e.typ, e.provider, e.stream, e.source, fmtTime(now), body,
		e.stream, fmtTime(now), e.account).Scan(&seq)
	if isNoRows(err) {
		return false, nil // the fact is already known
	}
	if err != nil {
		return false, fmt.Errorf("write event: %w", err)
	}
	return true, nil
}

// eventsHorizon returns the highest seq such that every event with a seq
// at or below it has committed or never will: in a transaction of its own
// it takes the events lock exclusively, which it gets once no writer holds
// it shared (a writer's seq allocated before then has committed or rolled
// back; one allocated after is higher than any seq this sees), reads the
// highest committed seq in a snapshot taken after that, and commits at
// once. PostgreSQL queues a writer's new shared request behind the waiting
// exclusive one, so a steady stream of writers cannot starve it, and the
// writers wait only for this short transaction, not for the reader's query.
func (db *DB) eventsHorizon(ctx context.Context) (int64, error) {
	tx, err := db.read.BeginTxx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("events horizon: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(?, 0))`, eventsLock); err != nil {
		return 0, fmt.Errorf("events horizon: lock: %w", err)
	}
	var h int64
	if err := tx.GetContext(ctx, &h, `SELECT coalesce(max(seq), 0) FROM events`); err != nil {
		return 0, fmt.Errorf("events horizon: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("events horizon: %w", err)
	}
	return h, nil
}

// pgText makes a rejection's text fields storable in PostgreSQL text
// columns, which refuse NUL and invalid UTF-8 (SQLite stores any bytes): a
// rejected request is attacker-controlled, and its quarantine row must not
// fail on them. Invalid bytes become U+FFFD, NUL becomes U+2400 (␀).
func pgText(r payrecon.Rejected) payrecon.Rejected {
	for _, s := range []*string{&r.Account, &r.Provider, &r.Reason, &r.Detail, &r.Method, &r.RemoteAddr} {
		*s = strings.ReplaceAll(strings.ToValidUTF8(*s, "\uFFFD"), "\x00", "\u2400")
	}
	return r
}

// tradeKey is the lock key of a trade (and its refunds).
func tradeKey(account, outTradeNo string) string { return "trade/" + account + "/" + outTradeNo }

// rebindConnector hands out pgx connections that accept the store's "?"
// placeholders.
type rebindConnector struct{ c driver.Connector }

func (r rebindConnector) Connect(ctx context.Context) (driver.Conn, error) {
	c, err := r.c.Connect(ctx)
	if err != nil {
		return nil, err
	}
	pc, ok := c.(*stdlib.Conn)
	if !ok {
		c.Close()
		return nil, fmt.Errorf("pgx connector returned %T", c)
	}
	return rebindConn{pc}, nil
}

func (r rebindConnector) Driver() driver.Driver { return r.c.Driver() }

// rebindConn is a pgx connection that rewrites "?" placeholders to "$n"
// (the store's SQL has no "?" in literals or operators) and forwards
// everything else.
type rebindConn struct{ c *stdlib.Conn }

func rebind(q string) string { return sqlx.Rebind(sqlx.DOLLAR, q) }

func (r rebindConn) Prepare(q string) (driver.Stmt, error) { return r.c.Prepare(rebind(q)) }
func (r rebindConn) Close() error                          { return r.c.Close() }
func (r rebindConn) Begin() (driver.Tx, error) {
	return r.c.BeginTx(context.Background(), driver.TxOptions{})
}
func (r rebindConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	return r.c.PrepareContext(ctx, rebind(q))
}
func (r rebindConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return r.c.BeginTx(ctx, opts)
}
func (r rebindConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	return r.c.ExecContext(ctx, rebind(q), args)
}
func (r rebindConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	return r.c.QueryContext(ctx, rebind(q), args)
}
func (r rebindConn) Ping(ctx context.Context) error             { return r.c.Ping(ctx) }
func (r rebindConn) CheckNamedValue(v *driver.NamedValue) error { return r.c.CheckNamedValue(v) }
func (r rebindConn) ResetSession(ctx context.Context) error     { return r.c.ResetSession(ctx) }
func (r rebindConn) IsValid() bool                              { return !r.c.Conn().IsClosed() }

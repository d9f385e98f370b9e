// Package store is payrecon's ledger: one SQLite file opened through sqlx
// and mattn/go-sqlite3, in WAL mode with synchronous=FULL, every pragma in
// the DSN, migrations embedded and applied at Open; or, for a postgres://
// URL, a PostgreSQL database through pgx's database/sql driver, with its
// own twin of each migration (postgres.go says how writes lock there). It
// hands out the root package's domain values ([payrecon.Trade], [payrecon.Run],
// [payrecon.Discrepancy], …); its row structs stay inside.
//
// Tables and the natural keys they are unique on:
//
//	notifications     (account, dedup_key)           raw notifications, verbatim, headers included
//	trades            (account, out_trade_no)
//	refunds           (account, out_refund_no)
//	transfers         (account, out_biz_no)
//	ledger_events     id                             provenance: every event applied, in order
//	quarantine        id                             rejected notifications, capped raw bytes, oldest dropped first
//	quarantine_usage  id = 1                         the quarantine's rows, bytes and drops (kept by triggers)
//	health_probe      id = 1                         what /readyz writes
//	bills             (account, bill_date, sha256)   archived bill files
//	recon_runs        id                             one row per reconciliation of a day
//	discrepancies     (account, bill_date) as a set  replaced whole on re-run
//	audit             id                             every repair: object, field, old, new, reason, evidence
//	job_runs          id                             scheduled and manual job runs
//	deliveries        id; looked up by (channel, key)  e-mails and alerts sent, for dedup
//	expected_orders   (account, out_trade_no)        orders registered for the same-day sweep
//	events            (account, fact_key); event_id  the outbox: one event per ledger fact, for the merchant's app
//	endpoints         name                           the configured forward endpoints (synced by serve)
//	event_deliveries  (endpoint, seq)                each event's delivery state at each endpoint
//	golive            account                        when the account went live (serve's first start)
//	run_leases        (account, bill_date)           which run reconciles the day now, until when
//	schema_migrations name                           applied migration files
//
// Files follow the tables: notifications.go, ledger.go (applying events),
// trades.go, quarantine.go, bills.go, runs.go, discrepancies.go, repair.go
// (audited repairs), health.go, deliveries.go, orders.go, events.go (writing
// events), outbox.go (delivering them) and golive.go (go-live and the
// run leases). Everything
// SQLite-specific (DSN, pragmas, migrations, the single-writer group
// commit, time storage) is in sqlite.go: all writes go through one writer
// goroutine that groups concurrent requests into one transaction, each
// request in its own savepoint when one fails, nobody answered before the
// shared COMMIT returned. Reads use a separate read-only pool.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/payrecon/payrecon"
)

// Errors callers branch on.
var (
	// ErrClosed is returned for writes after Close.
	ErrClosed = errors.New("store closed")
	// ErrPostgresBackup is returned by Backup on PostgreSQL, which is backed
	// up with its own tools (pg_dump, or the server's base backups).
	ErrPostgresBackup = errors.New("a PostgreSQL ledger is backed up with pg_dump, not payrecon backup")
	// ErrNotFound is returned when a looked-up row does not exist. It is
	// [payrecon.ErrNotFound], so consumers need not import store.
	ErrNotFound = payrecon.ErrNotFound
)

// Options tune the store.
type Options struct {
	// NoGroupCommit makes every write its own transaction, as a naive
	// handler would. It exists to measure what group commit buys.
	NoGroupCommit bool
	// MaxBatch caps the writes grouped into one transaction (default 512).
	MaxBatch int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Quarantine bounds what rejected notifications may store.
	Quarantine QuarantineLimits
}

// DB is the ledger.
type DB struct {
	write *sqlx.DB
	read  *sqlx.DB // the same handle as write on PostgreSQL
	pg    bool     // PostgreSQL (postgres.go) rather than SQLite (sqlite.go)
	log   *slog.Logger
	opt   Options

	reqs     chan writeReq
	events   chan struct{} // see EventsWritten
	stop     chan struct{}
	done     chan struct{}
	closeMu  sync.RWMutex
	closed   bool
	closeErr error
}

// Open opens (creating if needed) the ledger at path, a SQLite file, or
// the PostgreSQL database that path names when it is a postgres:// URL
// ([IsPostgres]), and applies pending migrations. It fails with
// [ErrSchemaNewer] when a newer payrecon migrated the database.
func Open(ctx context.Context, path string, opt Options, logger *slog.Logger) (*DB, error) {
	if opt.MaxBatch <= 0 {
		opt.MaxBatch = 512
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	opt.Quarantine = opt.Quarantine.withDefaults()
	db := &DB{log: logger.With("component", "store"), opt: opt,
		reqs: make(chan writeReq, 4096), events: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	if IsPostgres(path) {
		if err := db.openPostgres(ctx, path); err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		close(db.done) // no writer goroutine: writers use their own transactions
		return db, nil
	}
	if err := db.openSQLite(ctx, path); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	go db.writer()
	return db, nil
}

// Close stops the writer after it has committed what it holds, then closes
// both handles.
func (db *DB) Close() error {
	db.closeMu.Lock()
	if db.closed {
		db.closeMu.Unlock()
		return db.closeErr
	}
	db.closed = true
	db.closeMu.Unlock()
	close(db.stop)
	<-db.done
	if db.pg {
		db.closeErr = db.write.Close()
		return db.closeErr
	}
	db.closeErr = errors.Join(db.read.Close(), db.write.Close())
	return db.closeErr
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	return db.read.PingContext(ctx)
}

// CheckWritable writes 64 KiB through the writer: it proves the writer is
// alive and the database still has room for a batch of notifications (an
// empty transaction, or a one-page one, succeeds on a full disk while real
// batches fail).
func (db *DB) CheckWritable(ctx context.Context) error {
	err := db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO health_probe (id, at, pad) VALUES (1, ?, randomblob(65536))
			ON CONFLICT (id) DO UPDATE SET at = excluded.at, pad = excluded.pad`, fmtTime(db.opt.Now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("check writable: %w", err)
	}
	return nil
}

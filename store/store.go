// Package store is payrecon's ledger: one SQLite file opened through sqlx
// and mattn/go-sqlite3, in WAL mode with synchronous=FULL, every pragma in
// the DSN, migrations embedded and applied at Open.
//
// Tables and the natural keys they are unique on:
//
//	notifications  (account, dedup_key)   raw notifications, verbatim, headers included
//	trades         (account, out_trade_no)
//	refunds        (account, out_refund_no)
//	transfers      (account, out_biz_no)
//	ledger_events  id                     provenance: every event applied, in order
//	quarantine     id                     rejected notifications, capped raw bytes
//	bills          (account, bill_date, sha256)  archived bill files
//	recon_runs     id                     one row per reconciliation of a day
//	discrepancies  (account, bill_date) as a set: replaced whole on re-run
//	audit          id                     every repair: object, field, old, new, reason, evidence
//	job_runs       id                     scheduled and manual job runs
//
// All writes go through one writer goroutine that groups concurrent requests
// into one transaction (group commit): each request runs inside its own
// savepoint, so one failing request does not fail its neighbours, and
// nobody is answered before the shared COMMIT returned. Reads use a
// separate read-only pool.
package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/mattn/go-sqlite3" // the SQLite driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// ErrClosed is returned for writes after Close.
var ErrClosed = errors.New("store closed")

// Options tune the store.
type Options struct {
	// NoGroupCommit makes every write its own transaction, as a naive
	// handler would. It exists to measure what group commit buys.
	NoGroupCommit bool
	// MaxBatch caps the writes grouped into one transaction (default 512).
	MaxBatch int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// DB is the ledger.
type DB struct {
	write *sqlx.DB
	read  *sqlx.DB
	log   *slog.Logger
	opt   Options

	reqs     chan writeReq
	stop     chan struct{}
	done     chan struct{}
	closeMu  sync.RWMutex
	closed   bool
	closeErr error
}

type writeReq struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *sqlx.Tx) error
	done chan error
}

func dsn(path string, params string) string {
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + params
}

// Open opens (creating if needed) the ledger at path and applies pending
// migrations.
func Open(ctx context.Context, path string, opt Options, logger *slog.Logger) (*DB, error) {
	if path == "" || strings.Contains(path, ":memory:") {
		return nil, fmt.Errorf("open store: need a file path (got %q)", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if opt.MaxBatch <= 0 {
		opt.MaxBatch = 512
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	common := "_journal_mode=WAL&_busy_timeout=10000&_foreign_keys=on&_synchronous=FULL&_stmt_cache_size=64"
	w, err := sqlx.Open("sqlite3", dsn(path, common+"&_txlock=immediate"))
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	db := &DB{write: w, log: logger.With("component", "store"), opt: opt,
		reqs: make(chan writeReq, 4096), stop: make(chan struct{}), done: make(chan struct{})}
	if err := db.checkPragmas(ctx); err != nil {
		w.Close()
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sqlx.Open("sqlite3", dsn(path, common+"&_query_only=true"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	r.SetMaxOpenConns(4)
	db.read = r
	go db.writer()
	return db, nil
}

func (db *DB) checkPragmas(ctx context.Context) error {
	var mode string
	var fk, sync int
	if err := db.write.GetContext(ctx, &mode, "PRAGMA journal_mode"); err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	if err := db.write.GetContext(ctx, &fk, "PRAGMA foreign_keys"); err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	if err := db.write.GetContext(ctx, &sync, "PRAGMA synchronous"); err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	if mode != "wal" || fk != 1 || sync != 2 {
		return fmt.Errorf("open store: pragmas not applied (journal_mode=%s foreign_keys=%d synchronous=%d)", mode, fk, sync)
	}
	return nil
}

func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := db.migrateFile(ctx, name); err != nil {
			return fmt.Errorf("migrate %s: %w", name, err)
		}
	}
	return nil
}

func (db *DB) migrateFile(ctx context.Context, name string) error {
	tx, err := db.write.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.GetContext(ctx, &n, `SELECT count(*) FROM schema_migrations WHERE name = ?`, name); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	sql, err := fs.ReadFile(migrations, name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(sql)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`, name, fmtTime(db.opt.Now())); err != nil {
		return err
	}
	return tx.Commit()
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
	db.closeErr = errors.Join(db.read.Close(), db.write.Close())
	return db.closeErr
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	return db.read.PingContext(ctx)
}

// update runs fn in a write transaction and returns once it is durable.
func (db *DB) update(ctx context.Context, fn func(ctx context.Context, tx *sqlx.Tx) error) error {
	db.closeMu.RLock()
	defer db.closeMu.RUnlock()
	if db.closed {
		return ErrClosed
	}
	if db.opt.NoGroupCommit {
		tx, err := db.write.BeginTxx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if err := fn(ctx, tx); err != nil {
			return err
		}
		return tx.Commit()
	}
	req := writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case db.reqs <- req:
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued, wait for the outcome even if ctx ends: the write may
	// already be committed, and the caller must not guess.
	return <-req.done
}

func (db *DB) writer() {
	defer close(db.done)
	batch := make([]writeReq, 0, db.opt.MaxBatch)
	for {
		select {
		case r := <-db.reqs:
			batch = append(batch[:0], r)
		case <-db.stop:
			// Close holds the write lock, so nothing new can be queued;
			// drain what was queued before it.
			for {
				select {
				case r := <-db.reqs:
					db.commit([]writeReq{r})
				default:
					return
				}
			}
		}
	fill:
		for len(batch) < db.opt.MaxBatch {
			select {
			case r := <-db.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		db.commit(batch)
	}
}

// commit runs a batch in one transaction. Requests normally all succeed,
// so the batch first runs without savepoints; if any request fails, the
// whole transaction is rolled back and the batch replayed with each request
// in its own savepoint, so only the failing ones fail.
func (db *DB) commit(batch []writeReq) {
	errs := make([]error, len(batch))
	err := db.runBatch(batch, errs, false)
	if errors.Is(err, errReplay) {
		clear(errs)
		err = db.runBatch(batch, errs, true)
	}
	for i, r := range batch {
		if err != nil {
			r.done <- err
		} else {
			r.done <- errs[i]
		}
	}
}

var errReplay = errors.New("replay batch with savepoints")

func (db *DB) runBatch(batch []writeReq, errs []error, savepoints bool) error {
	ctx := context.Background()
	tx, err := db.write.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	exec := func(q string) error {
		_, err := tx.ExecContext(ctx, q)
		return err
	}
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if !savepoints {
			if err := r.fn(ctx, tx); err != nil {
				return errReplay
			}
			continue
		}
		if err := exec("SAVEPOINT w"); err != nil {
			return fmt.Errorf("savepoint: %w", err)
		}
		if err := r.fn(ctx, tx); err != nil {
			errs[i] = err
			if err := exec("ROLLBACK TO w"); err != nil {
				return fmt.Errorf("rollback to savepoint: %w", err)
			}
		}
		if err := exec("RELEASE w"); err != nil {
			return fmt.Errorf("release savepoint: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		db.log.Error("group commit failed", "batch", len(batch), "err", err)
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

const timeLayout = "2006-01-02T15:04:05.000Z07:00"

func fmtTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// nullTime formats t, or returns nil for the zero time.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return fmtTime(t)
}

func parseTime(s string) (time.Time, error) {
	return time.Parse(timeLayout, s)
}

// CheckWritable runs an empty write transaction through the writer: it
// proves the writer is alive and the database accepts writes.
func (db *DB) CheckWritable(ctx context.Context) error {
	return db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `SELECT 1`)
		return err
	})
}

package store

// Everything SQLite-specific lives here: the DSN and its pragmas, the
// migrations folder, the single-writer group commit, how times are stored
// and the Beijing-hour expression. A second backend replaces this file's
// contents, not its callers.

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/mattn/go-sqlite3" // the SQLite driver
	"github.com/payrecon/payrecon"
)

// migrations are the SQLite schema, applied in lexical order at Open and
// recorded by name in schema_migrations; an applied file is never edited.
//
//go:embed migrations/*.sql
var migrations embed.FS

// sqlitePragmas apply to every connection (mattn applies DSN keys on each
// new connection, unlike PRAGMA through Exec, which reaches one).
const sqlitePragmas = "_journal_mode=WAL&_busy_timeout=10000&_foreign_keys=on&_synchronous=FULL&_stmt_cache_size=64"

// beijingHour is the SQL expression for the hour of Beijing time (0–23) of a
// stored UTC timestamp column.
func (db *DB) beijingHour(col string) string {
	if db.pg { // a cast to timestamp (without zone) ignores the stored "Z"
		return "CAST(EXTRACT(HOUR FROM CAST(" + col + " AS timestamp) + INTERVAL '8 hours') AS INTEGER)"
	}
	return "CAST(strftime('%H', " + col + ", '+8 hours') AS INTEGER)"
}

func dsn(path string, params string) string {
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + params
}

// openSQLite opens the single-connection write handle (immediate
// transactions), checks the pragmas, migrates, then opens the read-only pool.
func (db *DB) openSQLite(ctx context.Context, path string) error {
	if path == "" || strings.Contains(path, ":memory:") {
		return fmt.Errorf("need a file path (got %q)", path)
	}
	if err := ledgerDir(filepath.Dir(path)); err != nil {
		return err
	}
	// Create a new ledger readable by its owner only; SQLite gives its
	// -wal and -shm files the same mode.
	if f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		return err
	}
	w, err := sqlx.Open("sqlite3", dsn(path, sqlitePragmas+"&_txlock=immediate"))
	if err != nil {
		return err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	db.write = w
	if err := db.checkPragmas(ctx); err != nil {
		w.Close()
		return err
	}
	if err := db.migrate(ctx); err != nil {
		w.Close()
		return err
	}
	r, err := sqlx.Open("sqlite3", dsn(path, sqlitePragmas+"&_query_only=true"))
	if err != nil {
		w.Close()
		return err
	}
	r.SetMaxOpenConns(4)
	db.read = r
	return nil
}

func (db *DB) checkPragmas(ctx context.Context) error {
	var mode string
	var fk, sync int
	if err := db.write.GetContext(ctx, &mode, "PRAGMA journal_mode"); err != nil {
		return fmt.Errorf("check pragmas: %w", err)
	}
	if err := db.write.GetContext(ctx, &fk, "PRAGMA foreign_keys"); err != nil {
		return fmt.Errorf("check pragmas: %w", err)
	}
	if err := db.write.GetContext(ctx, &sync, "PRAGMA synchronous"); err != nil {
		return fmt.Errorf("check pragmas: %w", err)
	}
	if mode != "wal" || fk != 1 || sync != 2 {
		return fmt.Errorf("pragmas not applied (journal_mode=%s foreign_keys=%d synchronous=%d)", mode, fk, sync)
	}
	return nil
}

// migrate applies the SQLite migrations (see migrateFS).
func (db *DB) migrate(ctx context.Context) error {
	return migrateFS(ctx, db.write, migrations, "migrations", db.opt.Now())
}

type writeReq struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *sqlx.Tx) error
	done chan error
}

// update runs fn in a write transaction and returns once it is durable.
func (db *DB) update(ctx context.Context, fn func(ctx context.Context, tx *sqlx.Tx) error) error {
	db.closeMu.RLock()
	defer db.closeMu.RUnlock()
	if db.closed {
		return ErrClosed
	}
	if db.pg {
		return db.updatePostgres(ctx, fn)
	}
	if db.opt.NoGroupCommit {
		return db.ownTx(ctx, fn)
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
	ctx, notes := withTxNotes(context.Background())
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
	db.committed(notes)
	return nil
}

// txNotes is what a write transaction's requests did that someone waits
// to hear of once it commits. It travels in the transaction's context.
type txNotes struct {
	events bool // outbox deliveries were written
}

type txNotesKey struct{}

func withTxNotes(ctx context.Context) (context.Context, *txNotes) {
	n := &txNotes{}
	return context.WithValue(ctx, txNotesKey{}, n), n
}

// noteEvents records, in the transaction ctx belongs to, that it wrote
// outbox deliveries.
func noteEvents(ctx context.Context) {
	if n, ok := ctx.Value(txNotesKey{}).(*txNotes); ok {
		n.events = true
	}
}

// committed tells the outbox's reader, after a commit, that deliveries
// were written (a request rolled back to its savepoint may cause a wake
// for nothing, which is harmless).
func (db *DB) committed(n *txNotes) {
	if n.events {
		db.wakeOutbox()
	}
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

// parseTime reads a stored timestamp. Every timestamp payrecon writes is
// UTC in timeLayout ("2026-11-20T02:00:00.000Z"), which is read without
// time.Parse's general machinery (a million-row window reads a million);
// anything else goes through time.Parse, which also words the error.
func parseTime(s string) (time.Time, error) {
	if t, ok := parseStoredUTC(s); ok {
		return t, nil
	}
	return time.Parse(timeLayout, s)
}

// parseStoredUTC reads s when it is exactly fmtTime's form of a UTC
// instant, reporting false otherwise (a valid time in another form
// included: time.Parse decides those).
func parseStoredUTC[B string | []byte](s B) (time.Time, bool) {
	if len(s) != 24 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != '.' || s[23] != 'Z' {
		return time.Time{}, false
	}
	num := func(i, j int) int {
		n := 0
		for ; i < j; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	y, mo, d, h, mi, sec, ms := num(0, 4), num(5, 7), num(8, 10), num(11, 13), num(14, 16), num(17, 19), num(20, 23)
	if y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59 || ms < 0 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, ms*int(time.Millisecond), time.UTC)
	if t.Day() != d { // 31 November and the like: time.Parse refuses them
		return time.Time{}, false
	}
	return t, true
}

// parseNullTime reads a nullable timestamp (NULL: the zero time).
func parseNullTime(s sql.NullString) (time.Time, error) {
	if !s.Valid {
		return time.Time{}, nil
	}
	return parseTime(s.String)
}

// nullFen stores an amount, or NULL when the side has none.
func nullFen(ok bool, f payrecon.Fen) sql.NullInt64 { return sql.NullInt64{Int64: int64(f), Valid: ok} }

// Backup writes a consistent copy of the live ledger to dest with VACUUM
// INTO (other processes may keep writing meanwhile) and checks the copy
// with PRAGMA integrity_check. dest must not exist; a failed backup leaves
// no file behind.
func (db *DB) Backup(ctx context.Context, dest string) error {
	if db.pg {
		return fmt.Errorf("backup: %w", ErrPostgresBackup)
	}
	if _, err := os.Stat(dest); err == nil {
		return fmt.Errorf("backup: %s already exists", dest)
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o700); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if _, err := db.write.ExecContext(ctx, `VACUUM INTO ?`, dest); err != nil {
		os.Remove(dest)
		return fmt.Errorf("backup: %w", err)
	}
	if err := os.Chmod(dest, 0o600); err != nil {
		os.Remove(dest)
		return fmt.Errorf("backup: %w", err)
	}
	if err := integrityCheck(ctx, dest); err != nil {
		os.Remove(dest)
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

// integrityCheck runs PRAGMA integrity_check on the SQLite file at path.
func integrityCheck(ctx context.Context, path string) error {
	c, err := sqlx.Open("sqlite3", dsn(path, "_query_only=true"))
	if err != nil {
		return err
	}
	defer c.Close()
	var res string
	if err := c.GetContext(ctx, &res, `PRAGMA integrity_check`); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	if res != "ok" {
		return fmt.Errorf("integrity check of %s: %s", path, res)
	}
	return nil
}

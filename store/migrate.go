package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"
	"time"
)

// ErrSchemaNewer is returned by [Open] when the database holds a migration
// this binary does not know: a newer payrecon migrated it, and this one
// must not write to a schema it does not understand.
var ErrSchemaNewer = errors.New("database schema is newer than this payrecon")

// migrationConn is what migrations run on: the SQLite write handle, or one
// PostgreSQL connection.
type migrationConn interface {
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// migrateFS applies the *.sql files of dir in fsys in lexical order, each
// in its own transaction, recorded in schema_migrations as
// "migrations/NAME" (so both backends record the same names). It refuses,
// before applying anything, a database that records a migration fsys lacks.
func migrateFS(ctx context.Context, c migrationConn, fsys fs.FS, dir string, now time.Time) error {
	if _, err := c.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	files, err := fs.Glob(fsys, dir+"/*.sql")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	sort.Strings(files)
	applied, err := appliedMigrations(ctx, c)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	known := make([]string, len(files))
	for i, f := range files {
		known[i] = migrationName(f)
	}
	for _, name := range applied {
		if !slices.Contains(known, name) {
			return fmt.Errorf("migrate: the database has %s, this binary knows up to %s: %w",
				name, known[len(known)-1], ErrSchemaNewer)
		}
	}
	for _, f := range files {
		if slices.Contains(applied, migrationName(f)) {
			continue
		}
		if err := migrateFile(ctx, c, fsys, f, now); err != nil {
			return fmt.Errorf("migrate %s: %w", migrationName(f), err)
		}
	}
	return nil
}

// migrationName is the name a migration file is recorded under.
func migrationName(file string) string { return "migrations/" + path.Base(file) }

func appliedMigrations(ctx context.Context, c migrationConn) ([]string, error) {
	rows, err := c.QueryContext(ctx, `SELECT name FROM schema_migrations ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

func migrateFile(ctx context.Context, c migrationConn, fsys fs.FS, file string, now time.Time) error {
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE name = ?`, migrationName(file)).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil // applied meanwhile by another process
	}
	body, err := fs.ReadFile(fsys, file)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`, migrationName(file), fmtTime(now)); err != nil {
		return err
	}
	return tx.Commit()
}

// SchemaVersion is the last migration applied to the database, such as
// "0009_outbox_due".
func (db *DB) SchemaVersion(ctx context.Context) (string, error) {
	var name sql.NullString
	if err := db.read.GetContext(ctx, &name, `SELECT max(name) FROM schema_migrations`); err != nil {
		return "", fmt.Errorf("schema version: %w", err)
	}
	return strings.TrimSuffix(path.Base(name.String), ".sql"), nil
}

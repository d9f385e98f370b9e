package store

import (
	"context"
	"errors"
	"fmt"
)

// errSQLiteOnly: the check reads SQLite's pragmas; PostgreSQL's durability
// is its server's configuration (fsync, synchronous_commit).
var errSQLiteOnly = errors.New("a SQLite check; not available on PostgreSQL")

// Durability is what the write connection's pragmas promise about a
// commit once it returns.
type Durability struct {
	// JournalMode is SQLite's journal_mode ("wal").
	JournalMode string
	// Synchronous is SQLite's synchronous level: 0 OFF, 1 NORMAL, 2 FULL,
	// 3 EXTRA. In WAL mode only FULL or EXTRA fsync the log at every
	// commit, so an acknowledged notification survives power loss.
	Synchronous int
}

// Synced reports whether every commit is fsynced before it returns: WAL
// with synchronous FULL or EXTRA.
func (d Durability) Synced() bool { return d.JournalMode == "wal" && d.Synchronous >= 2 }

// Durability reads the pragmas in force on the write connection, the one
// every notification is committed through.
func (db *DB) Durability(ctx context.Context) (Durability, error) {
	var d Durability
	if db.pg {
		return d, fmt.Errorf("durability: %w", errSQLiteOnly)
	}
	if err := db.write.GetContext(ctx, &d.JournalMode, "PRAGMA journal_mode"); err != nil {
		return d, fmt.Errorf("durability: %w", err)
	}
	if err := db.write.GetContext(ctx, &d.Synchronous, "PRAGMA synchronous"); err != nil {
		return d, fmt.Errorf("durability: %w", err)
	}
	return d, nil
}

// IntegrityCheck runs PRAGMA integrity_check on the ledger and returns an
// error unless it answers "ok".
func (db *DB) IntegrityCheck(ctx context.Context) error {
	var res []string
	if db.pg {
		return fmt.Errorf("integrity check: %w", errSQLiteOnly)
	}
	if err := db.read.SelectContext(ctx, &res, `PRAGMA integrity_check`); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	if len(res) != 1 || res[0] != "ok" {
		return fmt.Errorf("integrity check: %v", res)
	}
	return nil
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Session is a console session as the ledger keeps it (table
// console_sessions). Its key is the SHA-256 of the session cookie, never
// the cookie.
type Session struct {
	Operator string
	// TokenFP fingerprints the operator's token at sign-in, so a changed
	// token can end the session.
	TokenFP   string
	CSRF      string
	CreatedAt time.Time
	ExpiresAt time.Time
}

type sessionRow struct {
	Operator  string `db:"operator"`
	TokenFP   string `db:"token_fp"`
	CSRF      string `db:"csrf"`
	CreatedAt string `db:"created_at"`
	ExpiresAt string `db:"expires_at"`
}

// CreateSession keeps session s under idHash, and forgets every session
// expired at now.
func (db *DB) CreateSession(ctx context.Context, idHash string, s Session, now time.Time) error {
	err := db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM console_sessions WHERE expires_at <= ?`, fmtTime(now)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO console_sessions (id_hash, operator, token_fp, csrf, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?)`, idHash, s.Operator, s.TokenFP, s.CSRF, fmtTime(s.CreatedAt), fmtTime(s.ExpiresAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// Session returns the session kept under idHash, or [ErrNotFound]. An
// expired session is returned as kept: the caller judges expiry.
func (db *DB) Session(ctx context.Context, idHash string) (Session, error) {
	var r sessionRow
	err := db.read.GetContext(ctx, &r, `SELECT operator, token_fp, csrf, created_at, expires_at FROM console_sessions WHERE id_hash = ?`, idHash)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, fmt.Errorf("session: %w", ErrNotFound)
	}
	if err != nil {
		return Session{}, fmt.Errorf("session: %w", err)
	}
	s := Session{Operator: r.Operator, TokenFP: r.TokenFP, CSRF: r.CSRF}
	if s.CreatedAt, err = parseTime(r.CreatedAt); err == nil {
		s.ExpiresAt, err = parseTime(r.ExpiresAt)
	}
	if err != nil {
		return Session{}, fmt.Errorf("session: %w", err)
	}
	return s, nil
}

// DeleteSession forgets the session kept under idHash (none: no error).
func (db *DB) DeleteSession(ctx context.Context, idHash string) error {
	err := db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM console_sessions WHERE id_hash = ?`, idHash)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

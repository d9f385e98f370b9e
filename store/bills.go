package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/payrecon/payrecon"
)

type billRow struct {
	ID        int64  `db:"id"`
	Account   string `db:"account"`
	Date      string `db:"bill_date"`
	Format    string `db:"format"`
	Path      string `db:"path"`
	SHA256    string `db:"sha256"`
	Size      int64  `db:"size"`
	Origin    string `db:"origin"`
	FetchedAt string `db:"fetched_at"`
	Rejected  string `db:"rejected"`
}

func (r billRow) bill() (payrecon.Bill, error) {
	day, err := payrecon.ParseDay(r.Date)
	if err != nil {
		return payrecon.Bill{}, err
	}
	at, err := parseTime(r.FetchedAt)
	if err != nil {
		return payrecon.Bill{}, err
	}
	return payrecon.Bill{ID: r.ID, Account: r.Account, Day: day, Format: payrecon.BillFormat(r.Format), Path: r.Path,
		SHA256: r.SHA256, Size: r.Size, Origin: r.Origin, FetchedAt: at, Rejected: r.Rejected}, nil
}

// RecordBill records an archived bill file (idempotent by account, day and
// content hash) and returns its id. A bill with Rejected set is kept on
// record but never returned by [DB.LatestBill].
func (db *DB) RecordBill(ctx context.Context, b payrecon.Bill) (int64, error) {
	var id int64
	err := db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		return tx.QueryRowxContext(ctx, `
			INSERT INTO bills (account, bill_date, format, path, sha256, size, origin, fetched_at, rejected)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (account, bill_date, sha256) DO UPDATE SET fetched_at = excluded.fetched_at, path = excluded.path, rejected = excluded.rejected
			RETURNING id`, b.Account, b.Day.String(), string(b.Format), b.Path, b.SHA256, b.Size, b.Origin, fmtTime(db.opt.Now()), b.Rejected).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("record bill: %w", err)
	}
	return id, nil
}

// LatestBill returns the most recently archived bill of a day that was not
// rejected, or ErrNotFound.
func (db *DB) LatestBill(ctx context.Context, account string, day payrecon.Day) (payrecon.Bill, error) {
	var r billRow
	err := db.read.GetContext(ctx, &r, `SELECT * FROM bills WHERE account = ? AND bill_date = ? AND rejected = '' ORDER BY fetched_at DESC, id DESC LIMIT 1`, account, day.String())
	if errors.Is(err, sql.ErrNoRows) {
		return payrecon.Bill{}, ErrNotFound
	}
	if err != nil {
		return payrecon.Bill{}, fmt.Errorf("latest bill: %w", err)
	}
	b, err := r.bill()
	if err != nil {
		return payrecon.Bill{}, fmt.Errorf("latest bill: %w", err)
	}
	return b, nil
}

package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Delivered reports whether (channel, key) was sent successfully at or
// after since.
func (db *DB) Delivered(ctx context.Context, channel, key string, since time.Time) (bool, error) {
	var n int
	err := db.read.GetContext(ctx, &n, `SELECT count(*) FROM deliveries WHERE channel = ? AND key = ? AND status = 'sent' AND at >= ?`,
		channel, key, fmtTime(since))
	if err != nil {
		return false, fmt.Errorf("delivered: %w", err)
	}
	return n > 0, nil
}

// RecordDelivery stores the outcome of a delivery.
func (db *DB) RecordDelivery(ctx context.Context, channel, key string, attempts int, sendErr error) error {
	status, msg := "sent", ""
	if sendErr != nil {
		status, msg = "failed", sendErr.Error()
	}
	err := db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO deliveries (channel, key, at, status, attempts, error) VALUES (?, ?, ?, ?, ?, ?)`,
			channel, key, fmtTime(db.opt.Now()), status, attempts, msg)
		return err
	})
	if err != nil {
		return fmt.Errorf("record delivery: %w", err)
	}
	return nil
}

// Delivery is one recorded delivery.
type Delivery struct {
	Channel  string `db:"channel" json:"channel"`
	Key      string `db:"key" json:"key"`
	At       string `db:"at" json:"at"`
	Status   string `db:"status" json:"status"`
	Attempts int    `db:"attempts" json:"attempts"`
	Error    string `db:"error" json:"error"`
}

// Deliveries lists recorded deliveries, newest first.
func (db *DB) Deliveries(ctx context.Context, limit int) ([]Delivery, error) {
	var out []Delivery
	if err := db.read.SelectContext(ctx, &out, `SELECT channel, key, at, status, attempts, error FROM deliveries ORDER BY id DESC LIMIT ?`, limit); err != nil {
		return nil, fmt.Errorf("deliveries: %w", err)
	}
	return out, nil
}

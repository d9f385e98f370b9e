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
	Channel  string    `json:"channel"`
	Key      string    `json:"key"`
	At       time.Time `json:"at"`
	Status   string    `json:"status"` // sent or failed
	Attempts int       `json:"attempts"`
	Error    string    `json:"error"`
}

type deliveryRow struct {
	Channel  string `db:"channel"`
	Key      string `db:"key"`
	At       string `db:"at"`
	Status   string `db:"status"`
	Attempts int    `db:"attempts"`
	Error    string `db:"error"`
}

func (r deliveryRow) delivery() (Delivery, error) {
	at, err := parseTime(r.At)
	return Delivery{Channel: r.Channel, Key: r.Key, At: at, Status: r.Status, Attempts: r.Attempts, Error: r.Error}, err
}

// Deliveries lists recorded deliveries, newest first.
func (db *DB) Deliveries(ctx context.Context, limit int) ([]Delivery, error) {
	var rows []deliveryRow
	if err := db.read.SelectContext(ctx, &rows, `SELECT channel, key, at, status, attempts, error FROM deliveries ORDER BY id DESC LIMIT ?`, limit); err != nil {
		return nil, fmt.Errorf("deliveries: %w", err)
	}
	return convert(rows, deliveryRow.delivery, "deliveries")
}

package store

import (
	"context"
	"fmt"
	"time"

	"github.com/payrecon/payrecon"
)

// CallbackHealth counts the account's paid (or refunded) trades paid in
// [from, to) by source, per hour of Beijing time. Bill-only trades are not
// in the ledger; the caller adds them from the diff. Trades backfilled from
// the bill (source=bill: paid before the account went live) are no
// callbacks at all and are not counted.
func (db *DB) CallbackHealth(ctx context.Context, account string, from, to time.Time) (payrecon.CallbackHealth, []payrecon.HourHealth, error) {
	var rows []struct {
		Hour   int    `db:"h"`
		Source string `db:"source"`
		N      int    `db:"n"`
	}
	err := db.read.SelectContext(ctx, &rows, `
		SELECT `+db.beijingHour("paid_at")+` AS h, source, count(*) AS n FROM trades
		WHERE account = ? AND paid_at >= ? AND paid_at < ? AND status IN ('PAID', 'REFUNDED') AND source != 'bill'
		GROUP BY h, source ORDER BY h`, account, fmtTime(from), fmtTime(to))
	if err != nil {
		return payrecon.CallbackHealth{}, nil, fmt.Errorf("callback health: %w", err)
	}
	var total payrecon.CallbackHealth
	hours := make([]payrecon.HourHealth, 24)
	for i := range hours {
		hours[i].Hour = i
	}
	for _, r := range rows {
		h := &hours[r.Hour%24].CallbackHealth
		switch payrecon.Source(r.Source) {
		case payrecon.SourceNotify:
			h.Notify += r.N
			total.Notify += r.N
		case payrecon.SourceQuery:
			h.Query += r.N
			total.Query += r.N
		default:
			h.BillOnly += r.N
			total.BillOnly += r.N
		}
	}
	return total, hours, nil
}

package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/payrecon/payrecon"
)

// ItemFilter selects review items. Zero fields select everything.
type ItemFilter struct {
	Account string
	Day     payrecon.Day // zero: every day
	Code    payrecon.Code
	// State selects by the item's resolution (NEEDS_REVIEW, PENDING,
	// CONFIRMED_ABSENT).
	State payrecon.Outcome
	// PendingBefore: a PENDING item is open only when its day is before
	// this one (its hold has passed). Zero: PENDING items are not open.
	PendingBefore payrecon.Day
}

type itemRow struct {
	ID          int64          `db:"id"`
	Account     string         `db:"account"`
	BillDate    string         `db:"bill_date"`
	LedgerState sql.NullString `db:"ledger_state"`
	discrepancyRow
}

func (r itemRow) item() (payrecon.ReviewItem, error) {
	d, err := r.discrepancy()
	if err != nil {
		return payrecon.ReviewItem{}, err
	}
	day, err := payrecon.ParseDay(r.BillDate)
	return payrecon.ReviewItem{ID: r.ID, Account: r.Account, Day: day, RunID: r.RunID, Discrepancy: d,
		LedgerState: payrecon.ReconState(r.LedgerState.String)}, err
}

// itemSelect reads discrepancies with their ledger row's recon_state.
const itemSelect = `SELECT d.id, d.account, d.bill_date, d.run_id, d.code, d.kind, d.out_trade_no, d.provider_trade_no, d.out_refund_no,
	d.bill_fen, d.ledger_fen, d.ledger_status, d.note, d.query_result, d.resolution, d.resolved_run_id,
	CASE WHEN d.kind = 'refund' THEN r.recon_state ELSE t.recon_state END AS ledger_state
	FROM discrepancies d
	LEFT JOIN trades t ON d.kind != 'refund' AND t.account = d.account AND t.out_trade_no = d.out_trade_no AND d.out_trade_no != ''
	LEFT JOIN refunds r ON d.kind = 'refund' AND r.account = d.account AND r.out_refund_no = d.out_refund_no AND d.out_refund_no != ''`

// OpenItems lists the items a person must settle: discrepancies resolved
// NEEDS_REVIEW or CONFIRMED_ABSENT, or PENDING past their hold (see
// [ItemFilter.PendingBefore]), whose trade or refund has not since been
// settled in the ledger (MATCHED, RECOVERED or RESOLVED_MANUALLY by a later
// run or a person). Oldest day first, then the largest amount at stake.
func (db *DB) OpenItems(ctx context.Context, f ItemFilter) ([]payrecon.ReviewItem, error) {
	where := []string{`(d.resolution IN ('NEEDS_REVIEW','AMOUNT_MISMATCH','CONFIRMED_ABSENT') OR (d.resolution = 'PENDING' AND d.bill_date < ?))`,
		`coalesce(CASE WHEN d.kind = 'refund' THEN r.recon_state ELSE t.recon_state END, '') NOT IN ('MATCHED','RECOVERED','RESOLVED_MANUALLY')`}
	pendingBefore := "0000-00-00"
	if !f.PendingBefore.IsZero() {
		pendingBefore = f.PendingBefore.String()
	}
	args := []any{pendingBefore}
	if f.Account != "" {
		where, args = append(where, "d.account = ?"), append(args, f.Account)
	}
	if !f.Day.IsZero() {
		where, args = append(where, "d.bill_date = ?"), append(args, f.Day.String())
	}
	if f.Code != "" {
		where, args = append(where, "d.code = ?"), append(args, f.Code)
	}
	if f.State != "" {
		where, args = append(where, "d.resolution = ?"), append(args, f.State)
	}
	var rows []itemRow
	q := itemSelect + ` WHERE ` + strings.Join(where, " AND ") + `
		ORDER BY d.bill_date, abs(coalesce(d.bill_fen, 0) - coalesce(d.ledger_fen, 0)) DESC, d.id`
	if err := db.read.SelectContext(ctx, &rows, q, args...); err != nil {
		return nil, fmt.Errorf("open items: %w", err)
	}
	items, err := convert(rows, itemRow.item, "open items")
	if err != nil {
		return nil, err
	}
	sortByStake(items)
	return items, nil
}

// Item returns one stored discrepancy by id, open or not; ErrNotFound when
// there is none (a re-run of its day replaces the day's items).
func (db *DB) Item(ctx context.Context, id int64) (payrecon.ReviewItem, error) {
	var r itemRow
	if err := db.read.GetContext(ctx, &r, itemSelect+` WHERE d.id = ?`, id); err != nil {
		if isNoRows(err) {
			return payrecon.ReviewItem{}, fmt.Errorf("item %d: %w", id, ErrNotFound)
		}
		return payrecon.ReviewItem{}, fmt.Errorf("item %d: %w", id, err)
	}
	return r.item()
}

// SetItemQuery records the answer of a query a person asked again on an
// item: on the item, and in the history of its trade or refund with the
// operator and time.
func (db *DB) SetItemQuery(ctx context.Context, id int64, operator, result string) error {
	err := db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		var row itemRow
		if err := tx.GetContext(ctx, &row, itemSelect+` WHERE d.id = ?`, id); err != nil {
			if isNoRows(err) {
				return ErrNotFound
			}
			return err
		}
		it, err := row.item()
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE discrepancies SET query_result = ? WHERE id = ?`, result, id); err != nil {
			return err
		}
		object, _ := itemObject(it)
		_, err = tx.ExecContext(ctx, `INSERT INTO review_queries (at, account, object, operator, answer) VALUES (?, ?, ?, ?, ?)`,
			fmtTime(db.opt.Now()), it.Account, object, operator, result)
		return err
	})
	if err != nil {
		return fmt.Errorf("set item query %d: %w", id, err)
	}
	return nil
}

// ItemQuery is one query a person asked again, with the answer.
type ItemQuery struct {
	At       time.Time `json:"at"`
	Operator string    `json:"operator"`
	Answer   string    `json:"answer"`
}

// QueriesOf lists the queries asked again about one object (trade:… or
// refund:…) of an account, oldest first.
func (db *DB) QueriesOf(ctx context.Context, account, object string) ([]ItemQuery, error) {
	var rows []struct {
		At       string `db:"at"`
		Operator string `db:"operator"`
		Answer   string `db:"answer"`
	}
	if err := db.read.SelectContext(ctx, &rows, `SELECT at, operator, answer FROM review_queries WHERE account = ? AND object = ? ORDER BY id`,
		account, object); err != nil {
		return nil, fmt.Errorf("queries of %s: %w", object, err)
	}
	out := make([]ItemQuery, 0, len(rows))
	for _, r := range rows {
		at, err := parseTime(r.At)
		if err != nil {
			return nil, fmt.Errorf("queries of %s: %w", object, err)
		}
		out = append(out, ItemQuery{At: at, Operator: r.Operator, Answer: r.Answer})
	}
	return out, nil
}

// errPreview rolls a preview's transaction back.
var errPreview = errors.New("preview")

// ResolveItem applies a person's resolution of an open item in one
// transaction: AcceptProvider merges the provider's record into the
// ledger (as an audited repair does, writing its events) and also takes
// the provider's amount; every action then sets the trade's or refund's
// recon_state and the item's resolution to RESOLVED_MANUALLY, and writes
// one audit row per changed field with the operator and remark. It
// returns the changes. With preview, it computes the same changes and
// writes nothing. An item that is not open gives [payrecon.ErrNotOpen].
func (db *DB) ResolveItem(ctx context.Context, r payrecon.ManualResolution, preview bool) ([]payrecon.Change, error) {
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("resolve item %d: %w", r.ItemID, err)
	}
	var changes []payrecon.Change
	err := db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		var err error
		if changes, err = resolveItem(ctx, tx, db, r); err != nil {
			return err
		}
		if preview {
			return errPreview
		}
		return nil
	})
	if err != nil && !errors.Is(err, errPreview) {
		return nil, fmt.Errorf("resolve item %d: %w", r.ItemID, err)
	}
	return changes, nil
}

func resolveItem(ctx context.Context, tx *sqlx.Tx, db *DB, r payrecon.ManualResolution) ([]payrecon.Change, error) {
	var row itemRow
	if err := tx.GetContext(ctx, &row, itemSelect+` WHERE d.id = ?`, r.ItemID); err != nil {
		if isNoRows(err) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	it, err := row.item()
	if err != nil {
		return nil, err
	}
	if it.Resolution == payrecon.OutcomeResolvedManually || it.LedgerState == payrecon.StateResolvedManually || !it.Resolution.IsOpenForReview() {
		return nil, fmt.Errorf("%w (resolution %q, ledger %q)", payrecon.ErrNotOpen, it.Resolution, it.LedgerState)
	}
	now := db.opt.Now()
	object, snap := itemObject(it)
	before, _ := snap(ctx, tx)
	if r.Action == payrecon.AcceptProvider {
		if err := acceptProvider(ctx, tx, it, r, now); err != nil {
			return nil, err
		}
	}
	after, _ := snap(ctx, tx)
	changes := diffSnapshots(object, it, before, after)
	if r.Action == payrecon.WriteOff {
		changes = append(changes, payrecon.Change{Object: object, Field: "write_off_fen", Old: "0", New: fmt.Sprint(int64(r.WriteOffFen))})
	}
	oldState := string(it.LedgerState)
	if oldState == "" {
		oldState = string(it.Resolution)
	}
	changes = append(changes, payrecon.Change{Object: object, Field: "recon_state", Old: oldState, New: string(payrecon.StateResolvedManually)})
	if err := markResolved(ctx, tx, it, after != nil); err != nil {
		return nil, err
	}
	return changes, writeReviewAudit(ctx, tx, it, r, now, changes)
}

// itemObject names the item's trade or refund and returns how to
// snapshot it (nil when the ledger has none).
func itemObject(it payrecon.ReviewItem) (string, func(context.Context, *sqlx.Tx) (map[string]string, error)) {
	if it.Kind == payrecon.EntryRefund {
		return "refund:" + it.OutRefundNo, func(ctx context.Context, tx *sqlx.Tx) (map[string]string, error) {
			return snapshotRefund(ctx, tx, it.Account, it.OutRefundNo)
		}
	}
	return "trade:" + it.OutTradeNo, func(ctx context.Context, tx *sqlx.Tx) (map[string]string, error) {
		return snapshotTrade(ctx, tx, it.Account, it.OutTradeNo)
	}
}

// acceptProvider merges the provider's record into the ledger as an
// audited repair does (status, times, numbers, with its events and
// provenance), then takes the provider's amount of a payment, which a
// repair keeps; a changed amount is forwarded as payment.corrected.
func acceptProvider(ctx context.Context, tx *sqlx.Tx, it payrecon.ReviewItem, r payrecon.ManualResolution, now time.Time) error {
	ev := r.Event
	if ev.OutTradeNo != it.OutTradeNo {
		return fmt.Errorf("%w: the provider's record is for %q, not %q", payrecon.ErrBadReview, ev.OutTradeNo, it.OutTradeNo)
	}
	ref := fmt.Sprintf("review:item:%d", it.ID)
	a, err := applyEvent(ctx, tx, it.Account, r.Provider, ev, payrecon.SourceQuery, ref, now)
	if err != nil {
		return err
	}
	if err := recordApplied(ctx, tx, it.Account, a, payrecon.SourceQuery, ref, now); err != nil {
		return err
	}
	if it.Kind == payrecon.EntryRefund || !ev.HasAmount {
		return nil
	}
	res, err := tx.ExecContext(ctx, `UPDATE trades SET amount_fen = ?, updated_at = ? WHERE account = ? AND out_trade_no = ? AND (amount_fen IS NULL OR amount_fen <> ?)`,
		int64(ev.AmountFen), fmtTime(now), it.Account, it.OutTradeNo, int64(ev.AmountFen))
	if err != nil {
		return fmt.Errorf("correct amount: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	var t tradeRow
	if err := tx.GetContext(ctx, &t, `SELECT * FROM trades WHERE account = ? AND out_trade_no = ?`, it.Account, it.OutTradeNo); err != nil {
		return fmt.Errorf("load trade: %w", err)
	}
	return writeEvent(ctx, tx, outEvent{account: t.Account, provider: payrecon.Provider(t.Provider), stream: tradeStream(t.Account, t.OutTradeNo),
		source: payrecon.SourceQuery, data: appTrade(t), typ: payrecon.PaymentCorrected,
		factKey: fmt.Sprintf("corrected:%s:%d", t.OutTradeNo, ev.AmountFen)}, now)
}

// diffSnapshots lists the audited fields that differ.
func diffSnapshots(object string, it payrecon.ReviewItem, before, after map[string]string) []payrecon.Change {
	fields := auditedTradeFields
	if it.Kind == payrecon.EntryRefund {
		fields = auditedRefundFields
	}
	var cs []payrecon.Change
	for _, f := range fields {
		old, neu := before[f], after[f]
		if before == nil {
			old = "(absent)"
		}
		if after == nil {
			neu = "(absent)"
		}
		if old != neu {
			cs = append(cs, payrecon.Change{Object: object, Field: f, Old: old, New: neu})
		}
	}
	return cs
}

// markResolved sets the item and its trade or refund RESOLVED_MANUALLY.
func markResolved(ctx context.Context, tx *sqlx.Tx, it payrecon.ReviewItem, inLedger bool) error {
	if _, err := tx.ExecContext(ctx, `UPDATE discrepancies SET resolution = ? WHERE id = ?`, payrecon.OutcomeResolvedManually, it.ID); err != nil {
		return fmt.Errorf("mark item: %w", err)
	}
	if !inLedger {
		return nil
	}
	q, key := `UPDATE trades SET recon_state = ? WHERE account = ? AND out_trade_no = ?`, it.OutTradeNo
	if it.Kind == payrecon.EntryRefund {
		q, key = `UPDATE refunds SET recon_state = ? WHERE account = ? AND out_refund_no = ?`, it.OutRefundNo
	}
	if _, err := tx.ExecContext(ctx, q, payrecon.StateResolvedManually, it.Account, key); err != nil {
		return fmt.Errorf("mark %s: %w", key, err)
	}
	return nil
}

func writeReviewAudit(ctx context.Context, tx *sqlx.Tx, it payrecon.ReviewItem, r payrecon.ManualResolution, now time.Time, cs []payrecon.Change) error {
	for _, c := range cs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit (at, account, bill_date, run_id, object, field, old_value, new_value, reason, evidence, operator, remark)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, fmtTime(now), it.Account, it.Day.String(), it.RunID, c.Object, c.Field, c.Old, c.New,
			"manual: "+string(r.Action)+" ("+string(it.Code)+")", r.Evidence, r.Operator, r.Remark); err != nil {
			return fmt.Errorf("write audit: %w", err)
		}
	}
	return nil
}

// sortByStake keeps the oldest day first and, within a day, puts the
// largest amount at stake first.
func sortByStake(items []payrecon.ReviewItem) {
	slices.SortStableFunc(items, func(a, b payrecon.ReviewItem) int {
		if c := strings.Compare(a.Day.String(), b.Day.String()); c != 0 {
			return c
		}
		return cmp.Compare(b.AtStake(), a.AtStake())
	})
}

// StoredNotification is a raw notification as received.
type StoredNotification struct {
	ID         int64
	Protocol   string
	EventType  string
	SignedBy   string
	Header     map[string][]string
	Body       []byte
	ReceivedAt time.Time
	Deliveries int
}

// NotificationsFor lists the raw notifications about a trade, oldest
// first, verbatim with their headers.
func (db *DB) NotificationsFor(ctx context.Context, account, outTradeNo string) ([]StoredNotification, error) {
	var rows []struct {
		ID         int64  `db:"id"`
		Protocol   string `db:"protocol"`
		EventType  string `db:"event_type"`
		SignedBy   string `db:"signed_by"`
		Headers    string `db:"headers"`
		Body       []byte `db:"body"`
		ReceivedAt string `db:"received_at"`
		Deliveries int    `db:"deliveries"`
	}
	if err := db.read.SelectContext(ctx, &rows, `SELECT id, protocol, event_type, signed_by, headers, body, received_at, deliveries
		FROM notifications WHERE account = ? AND out_trade_no = ? ORDER BY id`, account, outTradeNo); err != nil {
		return nil, fmt.Errorf("notifications for %s: %w", outTradeNo, err)
	}
	out := make([]StoredNotification, 0, len(rows))
	for _, r := range rows {
		n := StoredNotification{ID: r.ID, Protocol: r.Protocol, EventType: r.EventType, SignedBy: r.SignedBy, Body: r.Body, Deliveries: r.Deliveries}
		if err := jsonUnmarshal([]byte(r.Headers), &n.Header); err != nil {
			return nil, fmt.Errorf("notifications for %s: headers of %d: %w", outTradeNo, r.ID, err)
		}
		var err error
		if n.ReceivedAt, err = parseTime(r.ReceivedAt); err != nil {
			return nil, fmt.Errorf("notifications for %s: %w", outTradeNo, err)
		}
		out = append(out, n)
	}
	return out, nil
}

// AuditOf lists the audit rows of one object (trade:… or refund:…) of an
// account, oldest first.
func (db *DB) AuditOf(ctx context.Context, account, object string) ([]payrecon.AuditEntry, error) {
	var rows []auditRow
	err := db.read.SelectContext(ctx, &rows, `SELECT `+auditColumns+` FROM audit WHERE account = ? AND object = ? ORDER BY id`, account, object)
	if err != nil {
		return nil, fmt.Errorf("audit of %s: %w", object, err)
	}
	return convert(rows, auditRow.entry, "audit")
}

// NotificationsSince counts the notifications accepted per account whose
// first delivery was at or after since.
func (db *DB) NotificationsSince(ctx context.Context, since time.Time) (map[string]int, error) {
	var rows []struct {
		Account string `db:"account"`
		N       int    `db:"n"`
	}
	if err := db.read.SelectContext(ctx, &rows, `SELECT account, count(*) AS n FROM notifications WHERE received_at >= ? GROUP BY account`, fmtTime(since)); err != nil {
		return nil, fmt.Errorf("notifications since: %w", err)
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.Account] = r.N
	}
	return out, nil
}

// Package reconcile compares one account's day of provider bill rows with
// what the ledger learned from notifications, and (in resolve.go) chases
// every discrepancy with an active provider query.
//
// The diff is pure: no database, clock, network or logging. It streams the
// bill (rows are classified as they arrive and only ledger facts are held
// in memory), so a million-row bill needs memory for the ledger side only.
package reconcile

import (
	"fmt"
	"sort"
	"time"

	"github.com/payrecon/payrecon"
)

// LedgerTrade is the part of a ledger trade the diff needs.
type LedgerTrade struct {
	OutTradeNo      string
	ProviderTradeNo string
	Status          payrecon.TradeStatus
	AmountFen       payrecon.Fen
	PaidAt          time.Time // zero when unpaid
}

// LedgerRefund is the part of a ledger refund the diff needs.
type LedgerRefund struct {
	OutRefundNo      string
	ProviderRefundNo string
	OutTradeNo       string
	AmountFen        payrecon.Fen
	Status           payrecon.RefundStatus
	RefundedAt       time.Time
}

// Options tune the diff.
type Options struct {
	// HoldDays is how far (in days, both directions) a fact may sit on an
	// adjacent day's bill and count as CROSS_DAY (default 2).
	HoldDays int
	// FeeRateE4 is the agreed fee rate in hundredths of a percent (60 =
	// 0.60%). A row that states its own rate (WeChat Pay 费率) is checked
	// at that rate instead; 0 checks only such rows.
	FeeRateE4 int64
}

// Diff classifies a day. Create it with [New], feed every bill row of the
// day with Add, then call Finish for the ledger facts no bill row matched.
type Diff struct {
	day  payrecon.Day
	opt  Options
	emit func(payrecon.Discrepancy)

	trades   *tradeTable      // the ledger's trades, indexed by provider trade no
	byOutNo  map[string]int32 // out trade no -> index, for trades without a provider no
	matched  []bool           // a bill row matched the ledger fact (a second one is a DUPLICATE)
	refunds  []LedgerRefund
	byRefund map[string]int32
	rMatched []bool
	// neighbours streams the adjacent days' bills, read in Finish only
	// for the ledger facts the day's bill lacks.
	neighbours Neighbours
	// Bill rows with no ledger fact, for duplicate detection among them.
	seenMissingPay map[string]bool
	seenMissingRef map[string]bool
}

// Neighbours streams to fn the rows of the other days' bills within the
// hold window that are already known (nil: none). A diff calls it at most
// once, in Finish, and only when ledger facts of the day are missing from
// the day's bill: it keeps just the rows that explain those, so the
// adjacent bills are never held in memory.
type Neighbours func(fn func(payrecon.BillEntry) error) error

// Rows is [Neighbours] over rows held in memory.
func Rows(rows []payrecon.BillEntry) Neighbours {
	if rows == nil {
		return nil
	}
	return func(fn func(payrecon.BillEntry) error) error {
		for _, e := range rows {
			if err := fn(e); err != nil {
				return err
			}
		}
		return nil
	}
}

// New prepares a diff of the bill day over the ledger facts of the hold
// window; adjacent streams the other days' bills within the hold window.
// emit receives every classified item.
func New(day payrecon.Day, opt Options, trades []LedgerTrade, refunds []LedgerRefund, adjacent Neighbours, emit func(payrecon.Discrepancy)) *Diff {
	if opt.HoldDays <= 0 {
		opt.HoldDays = 2
	}
	d := &Diff{
		day: day, opt: opt, emit: emit,
		trades: newTradeTable(trades), byOutNo: map[string]int32{},
		matched: make([]bool, len(trades)),
		refunds: refunds, byRefund: make(map[string]int32, len(refunds)), rMatched: make([]bool, len(refunds)),
		neighbours: adjacent, seenMissingPay: map[string]bool{}, seenMissingRef: map[string]bool{},
	}
	for i, t := range trades {
		if t.ProviderTradeNo == "" && t.OutTradeNo != "" {
			d.byOutNo[t.OutTradeNo] = int32(i)
		}
	}
	for i, r := range refunds {
		d.byRefund[refundKey(r.OutRefundNo, r.ProviderRefundNo)] = int32(i)
	}
	return d
}

func refundKey(out, provider string) string {
	if out != "" {
		return out
	}
	return "#" + provider
}

func (d *Diff) onDay(t time.Time) bool { return d.day.Contains(t) }

func (d *Diff) withinHold(t time.Time) bool {
	return !t.IsZero() && !t.Before(d.day.AddDays(-d.opt.HoldDays).Start()) && t.Before(d.day.AddDays(d.opt.HoldDays).End())
}

// Add classifies one bill row of the day.
func (d *Diff) Add(e payrecon.BillEntry) {
	if e.Kind == payrecon.EntryRefund {
		d.addRefund(e)
		return
	}
	it := billItem(e)
	i, ok := d.trades.lookup(e.ProviderTradeNo)
	if !ok || e.ProviderTradeNo == "" {
		i, ok = d.byOutNo[e.OutTradeNo]
	}
	if !ok {
		key := e.ProviderTradeNo + "|" + e.OutTradeNo
		if d.seenMissingPay[key] {
			it.Code, it.Note = payrecon.Duplicate, "same trade already on this bill"
		} else {
			d.seenMissingPay[key] = true
			it.Code, it.Note = payrecon.MissingLocal, "no notification received"
			if e.ForeignCurrency() {
				it.Code, it.Note = payrecon.CurrencyMismatch, foreignNote(e)
			}
		}
		d.emit(it)
		return
	}
	if d.matched[i] {
		it.Code, it.Note = payrecon.Duplicate, "same trade already on this bill"
		d.emit(it)
		return
	}
	t := LedgerTrade{Status: d.trades.status(i), AmountFen: d.trades.recs[i].amount, PaidAt: d.trades.paidAt(i)} // numbers not needed
	d.matched[i] = true
	it.HasLedger, it.LedgerFen, it.LedgerStatus, it.LedgerAt = true, t.AmountFen, string(t.Status), t.PaidAt
	if it.OutTradeNo == "" {
		it.OutTradeNo = string(d.trades.outNo(i))
	}
	switch {
	case e.ForeignCurrency():
		it.Code, it.Note = payrecon.CurrencyMismatch, foreignNote(e)
	case e.Status == "REVOKED":
		it.Code, it.Note = payrecon.StatusMismatch, "bill says revoked"
	case t.AmountFen != e.AmountFen:
		it.Code, it.Note = payrecon.AmountMismatch, "order amounts differ"
	case t.Status != payrecon.StatusPaid && t.Status != payrecon.StatusRefunded:
		it.Code, it.Note = payrecon.StatusMismatch, "bill says paid, ledger says "+string(t.Status)
	case d.feeDiffers(e):
		it.Code, it.Note = payrecon.FeeMismatch, "fee differs from the agreed rate"
		if e.HasFeeRate {
			it.Note = "fee differs from the bill's own rate"
		}
	case !d.onDay(t.PaidAt) && d.withinHold(t.PaidAt):
		it.Code, it.Note = payrecon.CrossDay, "ledger has it on "+payrecon.DayOf(t.PaidAt).String()
	case !d.onDay(t.PaidAt):
		it.Code, it.Note = payrecon.StatusMismatch, "ledger has it paid outside the hold window"
	default:
		it.Code = payrecon.Matched
	}
	d.emit(it)
}

// foreignNote explains a CURRENCY_MISMATCH found on the bill.
func foreignNote(e payrecon.BillEntry) string { return "bill states currency " + e.Currency }

// billItem is a bill row as a discrepancy, before it is classified.
func billItem(e payrecon.BillEntry) payrecon.Discrepancy {
	return payrecon.Discrepancy{Kind: e.Kind, OutTradeNo: e.OutTradeNo, ProviderTradeNo: e.ProviderTradeNo, OutRefundNo: e.OutRefundNo,
		BillFen: e.AmountFen, HasBill: true, BillFeeE5: e.FeeE5, BillDiscountFen: e.DiscountFen, Currency: e.Currency,
		BillStatus: e.Status, BillAt: e.At, BillLine: e.Line, AppID: e.AppID}
}

// feeDiffers reports whether a payment row's fee is not its settlement
// amount (order amount less the merchant's discount) at the row's own
// rate (WeChat Pay 费率) or, when the row states none, at the agreed
// rate; false when neither is known.
func (d *Diff) feeDiffers(e payrecon.BillEntry) bool {
	rate := d.opt.FeeRateE4 * 100 // hundredths of a percent to parts per million
	if e.HasFeeRate {
		rate = e.FeeRatePPM
	} else if rate <= 0 {
		return false
	}
	return e.FeeE5 != payrecon.FeeAtRate(e.SettleFen(), rate)
}

func (d *Diff) addRefund(e payrecon.BillEntry) {
	it := billItem(e)
	key := refundKey(e.OutRefundNo, e.ProviderRefundNo)
	i, ok := d.byRefund[key]
	if !ok {
		if d.seenMissingRef[key] {
			it.Code, it.Note = payrecon.Duplicate, "same refund already on this bill"
		} else {
			d.seenMissingRef[key] = true
			it.Code, it.Note = payrecon.MissingLocal, "no refund notification received"
			if e.ForeignCurrency() {
				it.Code, it.Note = payrecon.CurrencyMismatch, foreignNote(e)
			}
		}
		d.emit(it)
		return
	}
	if d.rMatched[i] {
		it.Code, it.Note = payrecon.Duplicate, "same refund already on this bill"
		d.emit(it)
		return
	}
	r := d.refunds[i]
	d.rMatched[i] = true
	it.HasLedger, it.LedgerFen, it.LedgerStatus, it.LedgerAt = true, r.AmountFen, string(r.Status), r.RefundedAt
	switch {
	case e.ForeignCurrency():
		it.Code, it.Note = payrecon.CurrencyMismatch, foreignNote(e)
	case r.AmountFen != e.AmountFen:
		it.Code, it.Note = payrecon.AmountMismatch, "refund amounts differ"
	case r.Status != payrecon.RefundSuccess:
		it.Code, it.Note = payrecon.StatusMismatch, "bill has the refund, ledger says "+string(r.Status)
	case !d.onDay(r.RefundedAt) && d.withinHold(r.RefundedAt):
		it.Code, it.Note = payrecon.CrossDay, "ledger has it on "+payrecon.DayOf(r.RefundedAt).String()
	case !d.onDay(r.RefundedAt) && !r.RefundedAt.IsZero():
		it.Code, it.Note = payrecon.StatusMismatch, "ledger has it refunded outside the hold window"
	default:
		it.Code = payrecon.Matched
	}
	d.emit(it)
}

// Finish classifies the ledger facts of the day that no bill row matched:
// CROSS_DAY when an adjacent day's bill has them, MISSING_CHANNEL
// otherwise. Its error is the adjacent bills' (nothing is emitted then).
func (d *Diff) Finish() error {
	var tidx []int32
	for i := range int32(d.trades.len()) {
		if st := d.trades.status(i); !d.matched[i] && (st == payrecon.StatusPaid || st == payrecon.StatusRefunded) && d.onDay(d.trades.paidAt(i)) {
			tidx = append(tidx, i)
		}
	}
	sort.Slice(tidx, func(a, b int) bool { return d.trades.lessOutNo(tidx[a], tidx[b]) })
	var idx []int
	for i, r := range d.refunds {
		if !d.rMatched[i] && r.Status == payrecon.RefundSuccess && d.onDay(r.RefundedAt) {
			idx = append(idx, i)
		}
	}
	sort.Slice(idx, func(a, b int) bool { return d.refunds[idx[a]].OutRefundNo < d.refunds[idx[b]].OutRefundNo })
	adj, err := d.onNeighbours(tidx, idx)
	if err != nil {
		return err
	}
	for _, i := range tidx {
		t := d.trades.trade(i)
		it := payrecon.Discrepancy{Kind: payrecon.EntryPayment, OutTradeNo: t.OutTradeNo, ProviderTradeNo: t.ProviderTradeNo,
			LedgerFen: t.AmountFen, HasLedger: true, LedgerStatus: string(t.Status), LedgerAt: t.PaidAt,
			Code: payrecon.MissingChannel, Note: "notified, not on the bill"}
		if adj.pay[t.ProviderTradeNo] || adj.out[t.OutTradeNo] {
			it.Code, it.Note = payrecon.CrossDay, "on an adjacent day's bill"
		}
		d.emit(it)
	}
	for _, i := range idx {
		r := d.refunds[i]
		it := payrecon.Discrepancy{Kind: payrecon.EntryRefund, OutTradeNo: r.OutTradeNo, OutRefundNo: r.OutRefundNo,
			LedgerFen: r.AmountFen, HasLedger: true, LedgerStatus: string(r.Status), LedgerAt: r.RefundedAt,
			Code: payrecon.MissingChannel, Note: "refund notified, not on the bill"}
		if adj.ref[refundKey(r.OutRefundNo, r.ProviderRefundNo)] {
			it.Code, it.Note = payrecon.CrossDay, "on an adjacent day's bill"
		}
		d.emit(it)
	}
	return nil
}

// adjacentKeys are the keys of the unmatched ledger facts found on an
// adjacent day's bill.
type adjacentKeys struct{ pay, out, ref map[string]bool }

// onNeighbours streams the adjacent bills once and returns which of the
// unmatched trades (tidx) and refunds (idx) they hold; it reads nothing
// when there are none. Empty numbers never match.
func (d *Diff) onNeighbours(tidx []int32, idx []int) (adjacentKeys, error) {
	adj := adjacentKeys{pay: map[string]bool{}, out: map[string]bool{}, ref: map[string]bool{}}
	if d.neighbours == nil || len(tidx)+len(idx) == 0 {
		return adj, nil
	}
	want := adjacentKeys{pay: map[string]bool{}, out: map[string]bool{}, ref: map[string]bool{}}
	for _, i := range tidx {
		t := d.trades.trade(i)
		if t.ProviderTradeNo != "" {
			want.pay[t.ProviderTradeNo] = true
		}
		if t.OutTradeNo != "" {
			want.out[t.OutTradeNo] = true
		}
	}
	for _, i := range idx {
		want.ref[refundKey(d.refunds[i].OutRefundNo, d.refunds[i].ProviderRefundNo)] = true
	}
	err := d.neighbours(func(e payrecon.BillEntry) error {
		if e.Kind == payrecon.EntryRefund {
			if k := refundKey(e.OutRefundNo, e.ProviderRefundNo); k != "#" && want.ref[k] {
				adj.ref[k] = true
			}
			return nil
		}
		if want.pay[e.ProviderTradeNo] {
			adj.pay[e.ProviderTradeNo] = true
		}
		if want.out[e.OutTradeNo] {
			adj.out[e.OutTradeNo] = true
		}
		return nil
	})
	if err != nil {
		return adj, fmt.Errorf("adjacent bills: %w", err)
	}
	return adj, nil
}

// Result is a whole day's diff held in memory (for tests and small days).
type Result struct {
	Items  []payrecon.Discrepancy
	Counts map[payrecon.Code]int
}

// Run diffs a day whose bill rows are in memory.
func Run(day payrecon.Day, opt Options, bill []payrecon.BillEntry, adjacent []payrecon.BillEntry, trades []LedgerTrade, refunds []LedgerRefund) Result {
	res := Result{Counts: map[payrecon.Code]int{}}
	d := New(day, opt, trades, refunds, Rows(adjacent), func(it payrecon.Discrepancy) {
		res.Items = append(res.Items, it)
		res.Counts[it.Code]++
	})
	for _, e := range bill {
		d.Add(e)
	}
	d.Finish() // in-memory rows never fail
	return res
}

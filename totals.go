package payrecon

// Totals are the counts and amounts of one column of a day's tie-out: the
// bill, the ledger before or after a run, the repairs, or the difference
// still open. Money is integer fen. PaymentsFen is the gross (order
// amounts); NetFen is always PaymentsFen − RefundsFen − FeesFen and
// SettlementFen, what the merchant is actually paid, NetFen −
// DiscountsFen (see [Totals.Settle]).
type Totals struct {
	Payments    int `json:"payments"`
	PaymentsFen Fen `json:"payments_fen"`
	Refunds     int `json:"refunds"`
	RefundsFen  Fen `json:"refunds_fen"`
	// FeesFen is the fees net of those returned on refunds.
	FeesFen Fen `json:"fees_fen"`
	NetFen  Fen `json:"net_fen"`
	// DiscountsFen are the discounts the merchant bears (see
	// [BillEntry.DiscountFen]), on payments less those given back on
	// refunds.
	DiscountsFen Fen `json:"discounts_fen"`
	// FeesReturnedFen is the part of the fees the provider returned on
	// refunds (positive; FeesFen already deducts it).
	FeesReturnedFen Fen `json:"fees_returned_fen"`
	// SettlementFen is the net settlement: PaymentsFen − RefundsFen −
	// DiscountsFen − FeesFen.
	SettlementFen Fen `json:"settlement_fen"`
}

// Settle sets NetFen and SettlementFen from the other amounts and
// returns t.
func (t Totals) Settle() Totals {
	t.NetFen = t.PaymentsFen - t.RefundsFen - t.FeesFen
	t.SettlementFen = t.NetFen - t.DiscountsFen
	return t
}

// Add returns t + u, field by field.
func (t Totals) Add(u Totals) Totals {
	return Totals{Payments: t.Payments + u.Payments, PaymentsFen: t.PaymentsFen + u.PaymentsFen, Refunds: t.Refunds + u.Refunds,
		RefundsFen: t.RefundsFen + u.RefundsFen, FeesFen: t.FeesFen + u.FeesFen, NetFen: t.NetFen + u.NetFen,
		DiscountsFen: t.DiscountsFen + u.DiscountsFen, FeesReturnedFen: t.FeesReturnedFen + u.FeesReturnedFen, SettlementFen: t.SettlementFen + u.SettlementFen}
}

// Sub returns t − u, field by field.
func (t Totals) Sub(u Totals) Totals {
	return t.Add(u.neg())
}

func (t Totals) neg() Totals {
	return Totals{Payments: -t.Payments, PaymentsFen: -t.PaymentsFen, Refunds: -t.Refunds, RefundsFen: -t.RefundsFen, FeesFen: -t.FeesFen,
		NetFen: -t.NetFen, DiscountsFen: -t.DiscountsFen, FeesReturnedFen: -t.FeesReturnedFen, SettlementFen: -t.SettlementFen}
}

// BillCharges is the part of t taken from the bill rows whatever side
// holds them: fees, fees returned and discounts (the ledger records
// none of them and is credited with the bill's on each row it holds).
func (t Totals) BillCharges() Totals {
	return Totals{FeesFen: t.FeesFen, DiscountsFen: t.DiscountsFen, FeesReturnedFen: t.FeesReturnedFen}
}

// OpenCategory is why a difference between the bill and the ledger is
// still open after a run.
type OpenCategory string

// The open categories, in report order.
const (
	OpenPending         OpenCategory = "PENDING"          // real per the provider, expected on an adjacent day's bill
	OpenNeedsReview     OpenCategory = "NEEDS_REVIEW"     // bill, ledger and provider disagree
	OpenConfirmedAbsent OpenCategory = "CONFIRMED_ABSENT" // in the ledger, denied by the provider
	OpenCrossDay        OpenCategory = "CROSS_DAY"        // on this day on one side, an adjacent day on the other: carried
)

// OpenCategories lists every open category in report order.
var OpenCategories = []OpenCategory{OpenPending, OpenNeedsReview, OpenConfirmedAbsent, OpenCrossDay}

// TieOut is how a run's day ties out: the bill, the ledger before the run,
// the repairs the run made, the ledger after it and the difference still
// open, with Bill − LedgerAfter = Open, and Open the sum of OpenBy.
type TieOut struct {
	Bill         Totals `json:"bill"`
	LedgerBefore Totals `json:"ledger_before"`
	Repaired     Totals `json:"repaired"`
	LedgerAfter  Totals `json:"ledger_after"`
	Open         Totals `json:"open"`
	// OpenBy itemises Open by category (categories without items left out).
	OpenBy map[OpenCategory]Totals `json:"open_by_category,omitempty"`
}

// Unexplained is Bill − LedgerAfter − Open: zero when the day ties out.
func (t TieOut) Unexplained() Totals { return t.Bill.Sub(t.LedgerAfter).Sub(t.Open) }

// FeeFen rounds a fee in 1e-5 yuan to the fen, half away from zero. Fees
// are rounded row by row, so every column of a tie-out sums the same
// rounded figures.
func FeeFen(e5 int64) Fen {
	if e5 < 0 {
		return -FeeFen(-e5)
	}
	return Fen((e5 + 500) / 1000)
}

// OpenCategoryOf is the open category of a resolved discrepancy, and
// whether it is open at all: PENDING, NEEDS_REVIEW (AMOUNT_MISMATCH
// with it) and CONFIRMED_ABSENT by resolution, an unresolved CROSS_DAY as carried. MATCHED, RECOVERED
// and a duplicate bill row settled otherwise are not open.
func OpenCategoryOf(d Discrepancy) (OpenCategory, bool) {
	switch d.Resolution {
	case OutcomePending:
		return OpenPending, true
	case OutcomeNeedsReview, OutcomeAmountMismatch:
		return OpenNeedsReview, true
	case OutcomeConfirmedAbsent:
		return OpenConfirmedAbsent, true
	case "":
		if d.Code == CrossDay {
			return OpenCrossDay, true
		}
	}
	return "", false
}

// LedgerHeld reports whether the ledger, as the diff read it, counts d's
// fact on day: a payment PAID or REFUNDED and paid that day, a refund
// SUCCESS and refunded that day.
func (d Discrepancy) LedgerHeld(day Day) bool {
	if !d.HasLedger || !day.Contains(d.LedgerAt) {
		return false
	}
	if d.Kind == EntryRefund {
		return d.LedgerStatus == string(RefundSuccess)
	}
	return d.LedgerStatus == string(StatusPaid) || d.LedgerStatus == string(StatusRefunded)
}

// BillSide is d's bill row as totals (zero when d has no bill row).
func (d Discrepancy) BillSide() Totals {
	if !d.HasBill {
		return Totals{}
	}
	return side(d.Kind, d.BillFen, d.BillDiscountFen, FeeFen(d.BillFeeE5))
}

// LedgerSideAfter is what the ledger counts of d on day once the run
// resolved it: a RECOVERED bill row as the bill states it (the run
// repaired the ledger to it), anything else as the diff found it. The
// ledger records no fees or discounts; it is credited with the bill's on
// each row it holds.
func (d Discrepancy) LedgerSideAfter(day Day) Totals {
	if d.Resolution == OutcomeRecovered && d.HasBill {
		return d.BillSide()
	}
	if !d.LedgerHeld(day) {
		return Totals{}
	}
	var fee, discount Fen
	if d.HasBill {
		fee, discount = FeeFen(d.BillFeeE5), d.BillDiscountFen
	}
	return side(d.Kind, d.LedgerFen, discount, fee)
}

// OpenSide is d's contribution to the open difference: bill side minus
// ledger side after the run (zero when d is not open).
func (d Discrepancy) OpenSide(day Day) Totals {
	if _, open := OpenCategoryOf(d); !open {
		return Totals{}
	}
	return d.BillSide().Sub(d.LedgerSideAfter(day))
}

// side is one row as totals: a refund gives back its discount and
// returns its fee (a refund row's fee is negative).
func side(k EntryKind, amount, discount, fee Fen) Totals {
	t := Totals{FeesFen: fee, DiscountsFen: discount}
	if k == EntryRefund {
		t.Refunds, t.RefundsFen = 1, amount
		t.DiscountsFen, t.FeesReturnedFen = -discount, -fee
	} else {
		t.Payments, t.PaymentsFen = 1, amount
	}
	return t.Settle()
}

package payrecon

// Totals are the counts and amounts of one column of a day's tie-out: the
// bill, the ledger before or after a run, the repairs, or the difference
// still open. Money is integer fen. NetFen is always PaymentsFen −
// RefundsFen − FeesFen (see [Totals.Settle]).
type Totals struct {
	Payments    int `json:"payments"`
	PaymentsFen Fen `json:"payments_fen"`
	Refunds     int `json:"refunds"`
	RefundsFen  Fen `json:"refunds_fen"`
	FeesFen     Fen `json:"fees_fen"`
	NetFen      Fen `json:"net_fen"`
}

// Settle sets NetFen from the other amounts and returns t.
func (t Totals) Settle() Totals {
	t.NetFen = t.PaymentsFen - t.RefundsFen - t.FeesFen
	return t
}

// Add returns t + u, field by field.
func (t Totals) Add(u Totals) Totals {
	return Totals{Payments: t.Payments + u.Payments, PaymentsFen: t.PaymentsFen + u.PaymentsFen, Refunds: t.Refunds + u.Refunds,
		RefundsFen: t.RefundsFen + u.RefundsFen, FeesFen: t.FeesFen + u.FeesFen, NetFen: t.NetFen + u.NetFen}
}

// Sub returns t − u, field by field.
func (t Totals) Sub(u Totals) Totals {
	return Totals{Payments: t.Payments - u.Payments, PaymentsFen: t.PaymentsFen - u.PaymentsFen, Refunds: t.Refunds - u.Refunds,
		RefundsFen: t.RefundsFen - u.RefundsFen, FeesFen: t.FeesFen - u.FeesFen, NetFen: t.NetFen - u.NetFen}
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
	return side(d.Kind, d.BillFen, FeeFen(d.BillFeeE5))
}

// LedgerSideAfter is what the ledger counts of d on day once the run
// resolved it: a RECOVERED bill row as the bill states it (the run
// repaired the ledger to it), anything else as the diff found it. The
// ledger records no fees; it is credited with the bill's fee on each row
// it holds.
func (d Discrepancy) LedgerSideAfter(day Day) Totals {
	if d.Resolution == OutcomeRecovered && d.HasBill {
		return d.BillSide()
	}
	if !d.LedgerHeld(day) {
		return Totals{}
	}
	var fee Fen
	if d.HasBill {
		fee = FeeFen(d.BillFeeE5)
	}
	return side(d.Kind, d.LedgerFen, fee)
}

// OpenSide is d's contribution to the open difference: bill side minus
// ledger side after the run (zero when d is not open).
func (d Discrepancy) OpenSide(day Day) Totals {
	if _, open := OpenCategoryOf(d); !open {
		return Totals{}
	}
	return d.BillSide().Sub(d.LedgerSideAfter(day))
}

func side(k EntryKind, amount, fee Fen) Totals {
	t := Totals{FeesFen: fee}
	if k == EntryRefund {
		t.Refunds, t.RefundsFen = 1, amount
	} else {
		t.Payments, t.PaymentsFen = 1, amount
	}
	return t.Settle()
}

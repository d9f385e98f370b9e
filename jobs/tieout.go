package jobs

import (
	"context"

	"github.com/payrecon/payrecon"
)

// tieOut accumulates a run's tie-out. The diff streams the matched items
// past it (add); the discrepancies are added once resolved (finish).
type tieOut struct {
	day   payrecon.Day
	runID int64
	// bill is the bill rows' side; chargesBefore and chargesAfter the
	// bill's fees and discounts (see [payrecon.Totals.BillCharges]) on the
	// rows the ledger holds before and after the run.
	bill                        payrecon.Totals
	chargesBefore, chargesAfter payrecon.Totals
	before                      payrecon.Totals // the ledger as the run found it (no fees, no discounts)
}

// add takes one item as the diff classified it: its bill row and, for the
// fee columns, whether the ledger holds it before the run.
func (t *tieOut) add(it payrecon.Discrepancy) {
	t.bill = t.bill.Add(it.BillSide())
	if it.HasBill && t.heldBefore(it) {
		t.chargesBefore = t.chargesBefore.Add(it.BillSide().BillCharges())
	}
	if it.Code == payrecon.Matched { // not chased: settled as the diff found it
		t.chargesAfter = t.chargesAfter.Add(it.LedgerSideAfter(t.day).BillCharges())
	}
}

// heldBefore reports whether the ledger held it when the run started: as
// the diff found it, or settled RECOVERED by an earlier run of the day
// (the re-run's item carries that run's view of the ledger).
func (t *tieOut) heldBefore(it payrecon.Discrepancy) bool {
	if it.Resolution == payrecon.OutcomeRecovered && it.ResolvedRun != 0 && it.ResolvedRun != t.runID {
		return true
	}
	return it.LedgerHeld(t.day)
}

// finish completes the tie-out from the resolved discrepancies, the
// bill's own totals and the ledger after the run. The counts and amounts
// of the bill are the parser's (checked against the file's footer); the
// fees (each rounded to the fen) and discounts are the rows'.
func (t *tieOut) finish(ds []payrecon.Discrepancy, bill payrecon.BillTotals, after payrecon.Totals) payrecon.TieOut {
	out := payrecon.TieOut{OpenBy: map[payrecon.OpenCategory]payrecon.Totals{}}
	chargesAfter := t.chargesAfter
	for _, d := range ds {
		chargesAfter = chargesAfter.Add(d.LedgerSideAfter(t.day).BillCharges())
		if c, open := payrecon.OpenCategoryOf(d); open {
			out.OpenBy[c] = out.OpenBy[c].Add(d.OpenSide(t.day))
			out.Open = out.Open.Add(d.OpenSide(t.day))
		}
	}
	out.Bill = payrecon.Totals{Payments: bill.Payments, PaymentsFen: bill.PaymentFen, Refunds: bill.Refunds, RefundsFen: bill.RefundFen}.
		Add(t.bill.BillCharges()).Settle()
	out.LedgerBefore = t.before.Add(t.chargesBefore).Settle()
	out.LedgerAfter = after.Add(chargesAfter).Settle()
	out.Repaired = out.LedgerAfter.Sub(out.LedgerBefore)
	return out
}

// measureTotals reads the ledger after the repairs and completes the
// run's tie-out; the workbook and the stored run show it.
func (r *run) measureTotals(ctx context.Context) error {
	day := r.rep.Day
	after, err := r.DB.LedgerTotals(ctx, r.acct.Name, day.Start(), day.End())
	if err != nil {
		return err
	}
	r.rep.Totals = r.totals.finish(r.rep.Discrepancies, r.rep.Bill, after)
	if u := r.rep.Totals.Unexplained(); u != (payrecon.Totals{}) {
		r.log.Warn("day does not tie out", "unexplained", u)
	}
	r.wb.SetTotals(r.rep.Totals)
	return nil
}

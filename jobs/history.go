package jobs

import (
	"context"
	"time"

	"github.com/payrecon/payrecon"
)

// history is what earlier runs of a day settled for good (RECOVERED or
// CONFIRMED_ABSENT), by item. A re-run reports a settled item as it was
// settled, by the run that settled it, instead of chasing it again: so it
// repairs nothing twice and never downgrades a resolution (a recovered
// payment matches on the re-run; a recovered refund that no longer falls
// in the ledger window would otherwise come back NEEDS_REVIEW).
type history map[string]payrecon.Discrepancy

// loadHistory reads the stored discrepancies of (account, day).
func loadHistory(ctx context.Context, db ledger, account string, day payrecon.Day) (history, error) {
	ds, err := db.Discrepancies(ctx, account, day)
	if err != nil {
		return nil, err
	}
	h := history{}
	for _, d := range ds {
		if d.Resolution.IsFinal() && d.Code != payrecon.Duplicate {
			h[itemKey(d)] = d
		}
	}
	return h, nil
}

// itemKey identifies the trade or refund a discrepancy is about.
func itemKey(d payrecon.Discrepancy) string {
	no := d.OutTradeNo
	if d.Kind == payrecon.EntryRefund {
		no = d.OutRefundNo
	}
	if no == "" {
		no = "#" + d.ProviderTradeNo
	}
	return string(d.Kind) + "|" + no
}

// carry returns it as an earlier run settled it, when one did: the same
// code now (the ghost is still absent), or MATCHED now because that run
// recovered it. The bill side is today's; the ledger side, the note and
// the resolution are as the settling run found them. Anything else,
// including a duplicate bill row, is returned unchanged, to be chased.
func (h history) carry(it payrecon.Discrepancy) payrecon.Discrepancy {
	if it.Code == payrecon.Duplicate {
		return it
	}
	p, ok := h[itemKey(it)]
	if !ok || (it.Code != p.Code && (it.Code != payrecon.Matched || p.Resolution != payrecon.OutcomeRecovered)) {
		return it
	}
	it.Code, it.Note = p.Code, p.Note
	it.HasLedger, it.LedgerFen, it.LedgerStatus = p.HasLedger, p.LedgerFen, p.LedgerStatus
	if !p.HasLedger {
		it.LedgerAt = time.Time{}
	}
	it.QueryResult, it.Resolution, it.ResolvedRun = p.QueryResult, p.Resolution, p.ResolvedRun
	return it
}

// marks are the reconciliation states the run's items set on their
// trades and refunds: matched holds the MATCHED items' marks, collected
// as the diff streamed; ds are the resolved discrepancies.
func marks(matched []payrecon.ReconMark, ds []payrecon.Discrepancy) []payrecon.ReconMark {
	out := matched
	for _, d := range ds {
		if m, ok := payrecon.MarkOf(d); ok {
			out = append(out, m)
		}
	}
	return out
}

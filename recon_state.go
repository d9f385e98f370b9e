package payrecon

import "fmt"

// ReconState is where a trade or refund of the ledger stands in the
// reconciliation. The daily run sets it from its resolutions; it only
// rises (see [ReconState.Rank]), so a re-run, a later day or a stale
// answer never downgrades what a run established.
type ReconState string

// The reconciliation states.
const (
	StateUnreconciled    ReconState = "UNRECONCILED"     // not yet on a reconciled bill
	StatePending         ReconState = "PENDING"          // real per the provider, expected on an adjacent day's bill
	StateNeedsReview     ReconState = "NEEDS_REVIEW"     // bill, ledger and provider disagree: a person must look
	StateMatched         ReconState = "MATCHED"          // on the bill as in the ledger (on this or an adjacent day)
	StateRecovered       ReconState = "RECOVERED"        // the ledger missed it; a provider query confirmed it and a run repaired it
	StateConfirmedAbsent ReconState = "CONFIRMED_ABSENT" // the provider denies it: a notification we accepted is suspect
	// StateResolvedManually: a person settled it (payrecon review, the
	// console) with a remark, recorded in the audit trail.
	StateResolvedManually ReconState = "RESOLVED_MANUALLY"
)

// ReconStates lists every state in rank order.
var ReconStates = []ReconState{StateUnreconciled, StatePending, StateNeedsReview, StateMatched, StateRecovered, StateConfirmedAbsent, StateResolvedManually}

// Rank orders the states by how settled they are. A stored state is
// replaced only by one of a higher rank: UNRECONCILED < PENDING <
// NEEDS_REVIEW < MATCHED < RECOVERED = CONFIRMED_ABSENT <
// RESOLVED_MANUALLY. A person's decision ranks highest: no re-run undoes
// it. RECOVERED ranks
// above MATCHED so a recovered trade, which matches on every re-run, keeps
// saying it was recovered and by which run.
func (s ReconState) Rank() int {
	switch s {
	case StateUnreconciled:
		return 0
	case StatePending:
		return 1
	case StateNeedsReview:
		return 2
	case StateMatched:
		return 3
	case StateRecovered, StateConfirmedAbsent:
		return 4
	case StateResolvedManually:
		return 5
	}
	return -1
}

// Validate reports whether s is a known state.
func (s ReconState) Validate() error {
	if s.Rank() < 0 {
		return fmt.Errorf("unknown recon state %q", string(s))
	}
	return nil
}

// ParseReconState reads a state written as its name.
func ParseReconState(s string) (ReconState, error) {
	st := ReconState(s)
	return st, st.Validate()
}

// StateOf is the state a classified and resolved discrepancy gives its
// trade or refund ("" when it says nothing about one: a duplicate bill
// row, or an item not yet resolved).
func StateOf(d Discrepancy) ReconState {
	switch d.Code {
	case Matched, CrossDay:
		return StateMatched
	case Duplicate:
		return ""
	}
	switch d.Resolution {
	case OutcomeRecovered:
		return StateRecovered
	case OutcomeConfirmedAbsent:
		return StateConfirmedAbsent
	case OutcomePending:
		return StatePending
	case OutcomeNeedsReview, OutcomeAmountMismatch:
		return StateNeedsReview
	case OutcomeResolvedManually:
		return StateResolvedManually
	}
	return ""
}

// ReconMark sets the state of one trade (Kind payment, by OutTradeNo) or
// refund (Kind refund, by OutRefundNo) of an account.
type ReconMark struct {
	Kind        EntryKind
	OutTradeNo  string
	OutRefundNo string
	State       ReconState
}

// MarkOf is the mark a discrepancy sets, and whether it sets one.
func MarkOf(d Discrepancy) (ReconMark, bool) {
	st := StateOf(d)
	if st == "" {
		return ReconMark{}, false
	}
	m := ReconMark{Kind: d.Kind, OutTradeNo: d.OutTradeNo, State: st}
	if d.Kind == EntryRefund {
		m.OutRefundNo = d.OutRefundNo
	}
	return m, true
}

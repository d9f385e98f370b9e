package payrecon

import (
	"errors"
	"fmt"
	"strings"
)

// ReviewAction is how a person settles an open item (payrecon review, the
// console).
type ReviewAction string

// The review actions.
const (
	// AcceptProvider (以渠道为准): repair the ledger to the provider's
	// verified record, queried again at the time of the resolution.
	AcceptProvider ReviewAction = "accept-provider"
	// AcceptLedger (以本地为准): the ledger is right; the provider's bill is
	// wrong or late. The ledger does not change.
	AcceptLedger ReviewAction = "accept-ledger"
	// WriteOff: write off the difference between bill and ledger, within
	// the configured tolerance. The ledger does not change.
	WriteOff ReviewAction = "write-off"
)

// ReviewActions lists the actions.
var ReviewActions = []ReviewAction{AcceptProvider, AcceptLedger, WriteOff}

// Errors of the review rules, for callers to branch on.
var (
	// ErrNotOpen: the item is not open (already settled, by a run or a
	// person).
	ErrNotOpen = errors.New("item is not open")
	// ErrNeedsConfirmation: the resolution changes money; confirm it with
	// the token of its preview.
	ErrNeedsConfirmation = errors.New("resolution changes money: confirm it with the preview's token")
	// ErrBadReview: the request breaks a rule (no remark, no operator,
	// unknown action, write-off over the tolerance, …).
	ErrBadReview = errors.New("invalid resolution")
)

// ParseReviewAction reads an action by name.
func ParseReviewAction(s string) (ReviewAction, error) {
	for _, a := range ReviewActions {
		if string(a) == s {
			return a, nil
		}
	}
	return "", fmt.Errorf("%w: unknown action %q (want accept-provider, accept-ledger or write-off)", ErrBadReview, s)
}

// ReviewItem is one discrepancy of a run as the review sees it: the
// discrepancy, where it stands, and where its trade or refund stands in
// the ledger ("" when the ledger has none).
type ReviewItem struct {
	ID      int64
	Account string
	Day     Day
	RunID   int64
	Discrepancy
	LedgerState ReconState
}

// AtStake is what the item puts at stake, in fen: the difference when
// both sides have it, else the amount of the side that does.
func (it ReviewItem) AtStake() Fen {
	switch {
	case it.HasBill && it.HasLedger:
		d := it.BillFen - it.LedgerFen
		if d < 0 {
			d = -d
		}
		return d
	case it.HasBill:
		return it.BillFen
	}
	return it.LedgerFen
}

// ManualResolution is a person's resolution of one item, as the ledger
// applies it.
type ManualResolution struct {
	ItemID   int64
	Provider Provider
	Action   ReviewAction
	Operator string
	Remark   string
	// Event is the provider's verified record (AcceptProvider), and
	// Evidence its secret-free account.
	Event    *Event
	Evidence string
	// WriteOffFen is the difference written off (WriteOff).
	WriteOffFen Fen
}

// Validate checks what every resolution needs.
func (r ManualResolution) Validate() error {
	var problems []string
	if _, err := ParseReviewAction(string(r.Action)); err != nil {
		problems = append(problems, fmt.Sprintf("unknown action %q", r.Action))
	}
	if strings.TrimSpace(r.Operator) == "" {
		problems = append(problems, "operator is required")
	}
	if strings.TrimSpace(r.Remark) == "" {
		problems = append(problems, "remark is required")
	}
	if r.Action == AcceptProvider && r.Event == nil {
		problems = append(problems, "accept-provider needs the provider's record")
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrBadReview, strings.Join(problems, "; "))
	}
	return nil
}

// Change is one field a resolution changes (or, in a preview, would).
type Change struct {
	Object string `json:"object"` // trade:OUT_TRADE_NO | refund:OUT_REFUND_NO
	Field  string `json:"field"`
	Old    string `json:"old"`
	New    string `json:"new"`
}

// ChangesMoney reports whether any change is to the ledger's money or a
// write-off (anything but the recon_state itself).
func ChangesMoney(cs []Change) bool {
	for _, c := range cs {
		if c.Field != "recon_state" {
			return true
		}
	}
	return false
}

// IsOpenForReview reports whether an item resolved o is one a person may
// settle: NEEDS_REVIEW, AMOUNT_MISMATCH (the provider confirmed another
// amount), PENDING or CONFIRMED_ABSENT.
func (o Outcome) IsOpenForReview() bool {
	return o == OutcomeNeedsReview || o == OutcomeAmountMismatch || o == OutcomePending || o == OutcomeConfirmedAbsent
}

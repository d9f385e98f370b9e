package payrecon

import (
	"fmt"
	"strings"
	"time"
)

// Code classifies one reconciled row. Every bill row and every ledger fact
// of the day lands in exactly one category.
type Code string

// The reconciliation categories. Labels name the side ("in the bill, not in
// the ledger"), never a bare 长款/短款, whose direction readers disagree on.
const (
	Matched        Code = "MATCHED"
	MissingLocal   Code = "MISSING_LOCAL"   // in the bill, no notification: suspected dropped callback
	MissingChannel Code = "MISSING_CHANNEL" // notified, not in the bill
	AmountMismatch Code = "AMOUNT_MISMATCH"
	StatusMismatch Code = "STATUS_MISMATCH"
	FeeMismatch    Code = "FEE_MISMATCH"
	// CurrencyMismatch: the bill row or the provider's query answer states
	// a currency other than CNY; its amounts are never compared as fen.
	CurrencyMismatch Code = "CURRENCY_MISMATCH"
	Duplicate        Code = "DUPLICATE"
	CrossDay         Code = "CROSS_DAY" // found on an adjacent day within the hold window: carried over
	// BeforeStart is a bill row missing from the ledger that happened
	// before payrecon went live: not a dropped callback. Confirmed by a
	// query, it is backfilled with source=bill (see golive.go).
	BeforeStart Code = "BEFORE_START"
)

// Codes lists every code in report order.
var Codes = []Code{Matched, MissingLocal, MissingChannel, AmountMismatch, StatusMismatch, FeeMismatch, CurrencyMismatch, Duplicate, CrossDay, BeforeStart}

var codeLabels = map[Code][2]string{
	Matched:          {"已匹配", "Matched"},
	MissingLocal:     {"渠道有本地无（疑似回调丢失）", "In bill, not in ledger (suspected dropped callback)"},
	MissingChannel:   {"本地有渠道无", "In ledger, not in bill"},
	AmountMismatch:   {"金额不符", "Amount differs"},
	StatusMismatch:   {"状态不符", "Status differs"},
	FeeMismatch:      {"手续费不符", "Fee differs"},
	CurrencyMismatch: {"币种非人民币", "Currency is not CNY"},
	Duplicate:        {"账单重复", "Duplicate bill row"},
	CrossDay:         {"跨日结转", "Cross-day, carried over"},
	BeforeStart:      {"上线前交易（按账单补录）", "Before go-live (backfilled from the bill)"},
}

// Label returns the code's label in locale "zh" (default) or "en".
func (c Code) Label(locale string) string {
	l, ok := codeLabels[c]
	if !ok {
		return string(c)
	}
	if locale == "en" {
		return l[1]
	}
	return l[0]
}

// IsProblem reports whether the code needs attention (anything but MATCHED
// and CROSS_DAY, which is carried over, not an error).
func (c Code) IsProblem() bool { return c != Matched && c != CrossDay }

// Outcome is how payrecon resolved a discrepancy after chasing it.
type Outcome string

// The outcomes, in report order.
const (
	OutcomeRecovered       Outcome = "RECOVERED"        // the provider confirms it; the ledger was backfilled (source=query)
	OutcomeConfirmedAbsent Outcome = "CONFIRMED_ABSENT" // the provider has no such paid trade: a notification we accepted is suspect
	OutcomePending         Outcome = "PENDING"          // held for the next day
	OutcomeNeedsReview     Outcome = "NEEDS_REVIEW"     // a person must look
	// OutcomeAmountMismatch: the provider confirms the item with another
	// amount than the bill row's. The ledger takes neither amount; a
	// person must look (its trade or refund is NEEDS_REVIEW).
	OutcomeAmountMismatch Outcome = "AMOUNT_MISMATCH"
	// OutcomeResolvedManually: a person settled it (see [ReviewAction]).
	OutcomeResolvedManually Outcome = "RESOLVED_MANUALLY"
)

// Outcomes lists every outcome in report order.
var Outcomes = []Outcome{OutcomeRecovered, OutcomeConfirmedAbsent, OutcomePending, OutcomeNeedsReview, OutcomeAmountMismatch, OutcomeResolvedManually}

// Discrepancy is one classified row of a day's reconciliation: what the
// bill said, what the ledger said, the category, and (once chased) what the
// provider's query answered and how it was resolved. The diff emits it for
// every row (MATCHED included), the resolver fills the resolution, the
// store keeps the problems, the workbook and alerts show them.
type Discrepancy struct {
	Code            Code
	Kind            EntryKind
	OutTradeNo      string
	ProviderTradeNo string
	OutRefundNo     string
	// BillFen and LedgerFen are the amounts on each side; HasBill and
	// HasLedger say whether that side has the fact at all.
	BillFen, LedgerFen Fen
	HasBill, HasLedger bool
	BillFeeE5          int64
	// BillDiscountFen is the bill row's discount borne by the merchant
	// (see [BillEntry.DiscountFen]).
	BillDiscountFen Fen
	// Currency is the currency the bill row or the provider's query
	// answer states ("" when neither states one, which means CNY).
	Currency         string
	BillStatus       string
	LedgerStatus     string
	BillAt, LedgerAt time.Time
	BillLine         int
	// AppID is the bill row's app (WeChat Pay 公众账号ID; see
	// [BillEntry.AppID]).
	AppID string
	// Note explains the classification in a few words.
	Note string
	// QueryResult is the provider's verified answer to the active query
	// ("" when not queried); Resolution what payrecon concluded.
	QueryResult string
	Resolution  Outcome
	// ResolvedRun is the run that reached Resolution (0: none yet). A
	// re-run of the day keeps a final resolution and the run that
	// reached it.
	ResolvedRun int64
}

// IsFinal reports whether o settles a discrepancy for good: RECOVERED (the
// ledger was repaired), CONFIRMED_ABSENT (the provider denies it) or
// RESOLVED_MANUALLY (a person decided). A re-run keeps a final resolution
// instead of chasing the item again.
func (o Outcome) IsFinal() bool {
	return o == OutcomeRecovered || o == OutcomeConfirmedAbsent || o == OutcomeResolvedManually
}

// DiffFen is bill minus ledger (0 when one side is missing).
func (d Discrepancy) DiffFen() Fen {
	if !d.HasBill || !d.HasLedger {
		return 0
	}
	return d.BillFen - d.LedgerFen
}

// OrderNo is the number a person looks the row up by: the refund number of
// a refund, else the merchant's order number.
func (d Discrepancy) OrderNo() string {
	if d.OutRefundNo != "" {
		return d.OutRefundNo
	}
	return d.OutTradeNo
}

// Tally writes the non-zero counts in the given order, e.g.
// "MATCHED=15 MISSING_LOCAL=2"; "" when every count is zero.
func Tally[K ~string](order []K, counts map[K]int) string {
	var b strings.Builder
	for _, k := range order {
		if n := counts[k]; n > 0 {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%s=%d", k, n)
		}
	}
	return b.String()
}

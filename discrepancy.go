package payrecon

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
	Duplicate      Code = "DUPLICATE"
	CrossDay       Code = "CROSS_DAY" // found on an adjacent day within the hold window: carried over
)

// Codes lists every code in report order.
var Codes = []Code{Matched, MissingLocal, MissingChannel, AmountMismatch, StatusMismatch, FeeMismatch, Duplicate, CrossDay}

var codeLabels = map[Code][2]string{
	Matched:        {"已匹配", "Matched"},
	MissingLocal:   {"渠道有本地无（疑似回调丢失）", "In bill, not in ledger (suspected dropped callback)"},
	MissingChannel: {"本地有渠道无", "In ledger, not in bill"},
	AmountMismatch: {"金额不符", "Amount differs"},
	StatusMismatch: {"状态不符", "Status differs"},
	FeeMismatch:    {"手续费不符", "Fee differs"},
	Duplicate:      {"账单重复", "Duplicate bill row"},
	CrossDay:       {"跨日结转", "Cross-day, carried over"},
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

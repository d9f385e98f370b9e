package payrecon

import "fmt"

// CallbackHealth counts a day's paid trades by how payrecon first learned
// of them: from a notification (healthy), from an active query (the
// callback was dropped or rejected), or only from the bill (still
// unrecovered). No peer system measures this; it is what ops need.
type CallbackHealth struct {
	Notify   int `json:"notify"`
	Query    int `json:"query"`
	BillOnly int `json:"bill_only"`
}

// Total is the number of paid trades counted.
func (h CallbackHealth) Total() int { return h.Notify + h.Query + h.BillOnly }

// NotifyShareE4 is the share learned from notifications in hundredths of a
// percent (10000 = 100%); a day without trades is healthy.
func (h CallbackHealth) NotifyShareE4() int {
	if h.Total() == 0 {
		return 10000
	}
	return h.Notify * 10000 / h.Total()
}

// Percent formats a share in hundredths of a percent, e.g. "97.50%".
func Percent(e4 int) string { return fmt.Sprintf("%d.%02d%%", e4/100, e4%100) }

// String summarises the health, e.g. "97.50% by notification (39/40), 1 by query, 0 only on the bill".
func (h CallbackHealth) String() string {
	return fmt.Sprintf("%s by notification (%d/%d), %d by query, %d only on the bill",
		Percent(h.NotifyShareE4()), h.Notify, h.Total(), h.Query, h.BillOnly)
}

// HourHealth is the callback health of one hour of the day (0–23, Beijing time).
type HourHealth struct {
	Hour int `json:"hour"`
	CallbackHealth
}

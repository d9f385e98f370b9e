package payrecon

import (
	"context"
	"errors"
	"time"
)

// RunStatus is the state of a reconciliation or job run.
type RunStatus string

// The run states.
const (
	RunRunning   RunStatus = "running"
	RunOK        RunStatus = "ok"
	RunFailed    RunStatus = "failed"
	RunCancelled RunStatus = "cancelled" // stopped by the operator (Ctrl-C, serve stopping): not a failure
)

// RunStatusOf is how a run that ended with err is recorded: ok, cancelled
// when err is (or wraps) context.Canceled, otherwise failed.
func RunStatusOf(err error) RunStatus {
	switch {
	case err == nil:
		return RunOK
	case errors.Is(err, context.Canceled):
		return RunCancelled
	}
	return RunFailed
}

// Run is one reconciliation of an (account, day).
type Run struct {
	ID         int64        `json:"id"`
	Account    string       `json:"account"`
	Day        Day          `json:"date"`
	StartedAt  time.Time    `json:"started_at"`
	FinishedAt time.Time    `json:"finished_at,omitzero"`
	Status     RunStatus    `json:"status"`
	Trigger    string       `json:"trigger"`
	BillID     int64        `json:"bill_id,omitempty"`
	Counts     map[Code]int `json:"counts"`
	// Totals is how the day tied out (nil for a run that did not get
	// that far, or one recorded before payrecon kept totals).
	Totals   *TieOut `json:"totals"`
	Workbook string  `json:"workbook"`
	Error    string  `json:"error"`
}

// JobRun is one run of a scheduled or manual job for an (account, day).
type JobRun struct {
	ID         int64     `json:"id"`
	Job        string    `json:"job"`
	Account    string    `json:"account"`
	Day        Day       `json:"day"`
	Trigger    string    `json:"trigger"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	Status     RunStatus `json:"status"`
	Error      string    `json:"error"`
}

// AuditEntry is one field a repair changed, with why and on what evidence.
type AuditEntry struct {
	At      time.Time `json:"at"`
	Account string    `json:"account"`
	Day     Day       `json:"date"`
	RunID   int64     `json:"run_id,omitempty"`
	// Object is "trade:OUT_TRADE_NO" or "refund:OUT_REFUND_NO".
	Object   string `json:"object"`
	Field    string `json:"field"`
	OldValue string `json:"old_value"`
	NewValue string `json:"new_value"`
	Reason   string `json:"reason"`
	Evidence string `json:"evidence"`
	// Operator and Remark are set on a person's resolution (payrecon
	// review, the console).
	Operator string `json:"operator,omitempty"`
	Remark   string `json:"remark,omitempty"`
}

// OrderStatus is the state of an order registered for the same-day sweep.
type OrderStatus string

// The expected-order states.
const (
	OrderWaiting   OrderStatus = "waiting"   // not yet seen paid; checked on the sweep's tiers
	OrderPaid      OrderStatus = "paid"      // a notification said paid
	OrderRecovered OrderStatus = "recovered" // a sweep query found it paid and backfilled it
	OrderExpired   OrderStatus = "expired"   // never paid within the sweep's horizon
)

// ExpectedOrder is an order the merchant registered for the same-day sweep.
type ExpectedOrder struct {
	Account     string      `json:"account"`
	OutTradeNo  string      `json:"out_trade_no"`
	AmountFen   Fen         `json:"amount_fen"`
	CreatedAt   time.Time   `json:"created_at"`
	Status      OrderStatus `json:"status"`
	NextCheckAt time.Time   `json:"next_check_at"`
	Checks      int         `json:"checks"`
	LastResult  string      `json:"last_result"`
	// LedgerStatus is the trade's status in the ledger ("" when absent).
	LedgerStatus TradeStatus `json:"-"`
}

// Repair says why, on what evidence and in which run a provider's verified
// answer is applied to the ledger.
type Repair struct {
	Account  string
	Provider Provider
	Day      Day
	RunID    int64 // 0 outside a reconciliation run (the same-day sweep)
	Reason   string
	Evidence string
	// Source is how the ledger learns a fact it did not hold (default
	// [SourceQuery]; [SourceBill] for a fact from before go-live).
	Source Source
}

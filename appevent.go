package payrecon

import (
	"encoding/json"
	"time"
)

// AppEventType names an event forwarded to the merchant's app: one per
// ledger fact, whatever taught payrecon the fact.
type AppEventType string

// The event types. Per trade they form a stream an app can apply in order:
// payment.succeeded always comes before that trade's refund events.
const (
	PaymentSucceeded  AppEventType = "payment.succeeded"
	PaymentClosed     AppEventType = "payment.closed" // closed unpaid
	RefundSucceeded   AppEventType = "refund.succeeded"
	RefundFailed      AppEventType = "refund.failed" // WeChat Pay REFUND.ABNORMAL / REFUND.CLOSED
	TransferSucceeded AppEventType = "transfer.succeeded"
	TransferFailed    AppEventType = "transfer.failed"
	// TradeDisputed: the provider denies a trade payrecon had accepted as
	// paid (CONFIRMED_ABSENT); the merchant must not ship.
	TradeDisputed AppEventType = "trade.disputed"
	// PaymentCorrected: a person accepted the provider's record of a paid
	// trade (payrecon review) and its amount changed.
	PaymentCorrected AppEventType = "payment.corrected"
)

// AppEvent is the body of a forwarded event. Field names are a contract
// with the merchant's app. Data is frozen when the event is written, so a
// retry or a replay sends the same bytes under the same ID.
type AppEvent struct {
	// ID ("evt_…") is stable across retries and replays: the Standard
	// Webhooks webhook-id.
	ID        string       `json:"id"`
	Type      AppEventType `json:"type"`
	CreatedAt time.Time    `json:"created_at"`
	Account   string       `json:"account"`
	Provider  Provider     `json:"provider"`
	// Source is what taught the ledger this fact: notify, or query when a
	// dropped callback was recovered.
	Source Source          `json:"source"`
	Data   json.RawMessage `json:"data"`
}

// AppTrade is a trade as "payrecon trades -json" prints it: the data of
// payment and dispute events.
type AppTrade struct {
	Account         string      `json:"account"`
	Provider        Provider    `json:"provider"`
	OutTradeNo      string      `json:"out_trade_no"`
	ProviderTradeNo string      `json:"provider_trade_no"`
	Status          TradeStatus `json:"status"`
	AmountFen       Fen         `json:"amount_fen"`
	RefundedFen     Fen         `json:"refunded_fen"`
	// PaidAt is RFC 3339 in the zone the trade was rendered in (Beijing
	// time in events, the configured timezone in "trades -json"), or "".
	PaidAt string `json:"paid_at"`
	Source Source `json:"source"`
	// ReconState is where the trade stands in the reconciliation, and
	// ReconRun the run that set it.
	ReconState ReconState `json:"recon_state,omitempty"`
	ReconRun   int64      `json:"recon_run_id,omitempty"`
}

// App renders the trade as "payrecon trades -json" prints it and as event
// data carries it, with times in loc.
func (t Trade) App(loc *time.Location) AppTrade {
	a := AppTrade{Account: t.Account, Provider: t.Provider, OutTradeNo: t.OutTradeNo, ProviderTradeNo: t.ProviderTradeNo,
		Status: t.Status, AmountFen: t.AmountFen, RefundedFen: t.RefundedFen, Source: t.Source, ReconState: t.ReconState, ReconRun: t.ReconRun}
	if t.PaidAt != nil {
		a.PaidAt = t.PaidAt.In(loc).Format(time.RFC3339)
	}
	return a
}

// AppRefund is the data of refund events: the trade, plus the refund.
type AppRefund struct {
	AppTrade
	OutRefundNo      string       `json:"out_refund_no"`
	ProviderRefundNo string       `json:"provider_refund_no"`
	RefundFen        Fen          `json:"refund_fen"`
	RefundStatus     RefundStatus `json:"refund_status"`
	// RefundedAt is RFC 3339 in Beijing time, or "".
	RefundedAt string `json:"refunded_at"`
}

// AppTransfer is the data of transfer events.
type AppTransfer struct {
	Account   string   `json:"account"`
	Provider  Provider `json:"provider"`
	OutBizNo  string   `json:"out_biz_no"`
	OrderID   string   `json:"order_id"`
	AmountFen Fen      `json:"amount_fen"`
	Status    string   `json:"status"`
	PaidAt    string   `json:"paid_at"`
	Source    Source   `json:"source"`
}

// EventTime formats a time for event data: RFC 3339 in Beijing time, ""
// for the zero time.
func EventTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(ShanghaiFixed).Format(time.RFC3339)
}

// DeliveryStatus is where an event stands with one endpoint.
type DeliveryStatus string

// The delivery statuses. failed is final (retries ran out); a replay makes
// any event pending again.
const (
	DeliveryPending   DeliveryStatus = "pending"
	DeliveryDelivered DeliveryStatus = "delivered"
	DeliveryFailed    DeliveryStatus = "failed"
)

// OutboxEvent is an event as the outbox holds it.
type OutboxEvent struct {
	// Seq orders events (the cursor of GET /api/events?after=).
	Seq int64
	AppEvent
	// Body is exactly what is posted (the JSON of AppEvent).
	Body []byte
	// Status sums up its deliveries: failed if any failed, else pending
	// if any is pending, else delivered; "" with no endpoint.
	Status DeliveryStatus
}

// OutboxStats is the outbox's backlog: deliveries pending at enabled and
// disabled endpoints alike, and when the oldest pending event was written
// (zero when none is pending).
type OutboxStats struct {
	Pending       int
	OldestPending time.Time
}

// Endpoint is a configured merchant-app endpoint as the outbox knows it.
type Endpoint struct {
	Name string
	// Accounts limits the events it receives (empty: every account).
	Accounts []string
}

// Delivery is one event due at one endpoint.
type Delivery struct {
	Endpoint string
	Seq      int64
	EventID  string
	// Stream orders deliveries: one stream per trade (or transfer); a
	// stream's events go out one at a time, in Seq order.
	Stream    string
	Body      []byte
	Attempts  int
	CreatedAt time.Time
}

// Lane is the delivery's ordering lane: its stream at its endpoint. A lane
// has at most one delivery in flight.
func (d Delivery) Lane() string { return d.Endpoint + "\x00" + d.Stream }

// Attempt is the outcome of posting a delivery once.
type Attempt struct {
	Endpoint string
	Seq      int64
	Status   DeliveryStatus
	At       time.Time
	// NextAt is when a pending delivery is tried again.
	NextAt time.Time
	// Error says why the attempt failed ("" on success); never a secret.
	Error string
}

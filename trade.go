package payrecon

import (
	"fmt"
	"time"
)

// TradeStatus is the ledger's status of a trade. It only moves forward
// (see [TradeStatus.Rank]): a late or replayed event never moves a trade back.
type TradeStatus string

// The trade statuses. A partial refund keeps PAID; REFUNDED means fully
// refunded; CLOSED means closed unpaid.
const (
	StatusPending  TradeStatus = "PENDING"
	StatusClosed   TradeStatus = "CLOSED"
	StatusPaid     TradeStatus = "PAID"
	StatusRefunded TradeStatus = "REFUNDED"
)

// Rank orders statuses by how far a trade has progressed. The ledger keeps
// the highest rank it has seen: PENDING < CLOSED < PAID < REFUNDED. A paid
// trade cannot be closed unpaid, so a CLOSED that arrives after PAID is stale.
func (s TradeStatus) Rank() int {
	switch s {
	case StatusPending:
		return 0
	case StatusClosed:
		return 1
	case StatusPaid:
		return 2
	case StatusRefunded:
		return 3
	}
	return -1
}

// Validate reports whether s is a known status.
func (s TradeStatus) Validate() error {
	if s.Rank() < 0 {
		return fmt.Errorf("unknown trade status %q", string(s))
	}
	return nil
}

// RefundStatus is a refund's status as the provider reports it.
type RefundStatus string

// Refund statuses. ABNORMAL is not final: a merchant may still settle it by
// hand. CLOSED means the refund failed and no money moved.
const (
	RefundSuccess    RefundStatus = "SUCCESS"
	RefundProcessing RefundStatus = "PROCESSING"
	RefundAbnormal   RefundStatus = "ABNORMAL"
	RefundClosed     RefundStatus = "CLOSED"
)

// EventKind says what a notification (or later a query or bill row) tells the
// ledger.
type EventKind string

// The kinds of ledger event.
const (
	EventPending  EventKind = "pending"  // the trade exists, unpaid
	EventPayment  EventKind = "payment"  // the trade was paid
	EventRefund   EventKind = "refund"   // a refund changed state
	EventClose    EventKind = "close"    // the trade was closed unpaid
	EventTransfer EventKind = "transfer" // an outgoing transfer changed state
	EventOther    EventKind = "other"    // verified, kept raw, no ledger effect
)

// Event is the effect of one verified message on the ledger. Fields that the
// message does not carry are zero.
type Event struct {
	Kind            EventKind
	OutTradeNo      string
	ProviderTradeNo string
	// AmountFen is the order amount; HasAmount says whether the message
	// stated it.
	AmountFen Fen
	HasAmount bool
	// Status is the trade status the event implies.
	Status   TradeStatus
	PaidAt   time.Time
	ClosedAt time.Time
	Refund   *Refund
	Transfer *Transfer
}

// Refund is one refund of a trade, identified by the merchant's refund
// number (Alipay out_biz_no / out_request_no, WeChat Pay out_refund_no).
type Refund struct {
	OutRefundNo      string
	ProviderRefundNo string
	// AmountFen is this refund's amount. Alipay states only the running
	// total (TotalFen); the ledger derives AmountFen from consecutive totals.
	AmountFen  Fen
	TotalFen   Fen
	Status     RefundStatus
	RefundedAt time.Time
}

// Transfer is an outgoing transfer (Alipay alipay.fund.trans.order.changed).
type Transfer struct {
	OutBizNo  string
	OrderID   string
	AmountFen Fen
	Status    string
	PaidAt    time.Time
}

// Protocol names a notification's wire dialect, which also decides how
// the provider expects it acknowledged.
type Protocol string

// The notification dialects.
const (
	ProtocolAlipay        Protocol = "alipay"         // form-encoded async notification, RSA2 (or legacy RSA)
	ProtocolAlipayGateway Protocol = "alipay-gateway" // the gateway's msg_method messages (e.g. fund transfers)
	ProtocolWeChatV3      Protocol = "wechatpay-v3"   // JSON, signed headers, AES-GCM resource
	ProtocolWeChatV2      Protocol = "wechatpay-v2"   // XML, MD5 or HMAC-SHA256 sign
)

// Notification is a verified provider notification: what it says and how to
// recognise a redelivery of it.
type Notification struct {
	Account  string
	Provider Provider
	// Protocol is the wire dialect it came in.
	Protocol Protocol
	// DedupKey identifies the notification across provider retries and
	// parallel deliveries (see each provider package for its parts).
	DedupKey string
	// EventType is the provider's own name for the event, e.g.
	// TRADE_SUCCESS or REFUND.SUCCESS.
	EventType string
	// SignedBy names the key that verified the notification (a key id,
	// certificate serial or "public-key"), never key material.
	SignedBy string
	Event    Event
}

// Trade is the ledger's view of one trade.
type Trade struct {
	Account         string      `json:"account"`
	Provider        Provider    `json:"provider"`
	OutTradeNo      string      `json:"out_trade_no"`
	ProviderTradeNo string      `json:"provider_trade_no"`
	Status          TradeStatus `json:"status"`
	AmountFen       Fen         `json:"amount_fen"`
	RefundedFen     Fen         `json:"refunded_fen"`
	PaidAt          *time.Time  `json:"paid_at"`
	// Source is how the ledger first learned of the trade.
	Source    Source    `json:"source"`
	UpdatedAt time.Time `json:"updated_at"`
	// ReconState is where the trade stands in the reconciliation, and
	// ReconRun the run that set it (0 while UNRECONCILED).
	ReconState ReconState `json:"recon_state"`
	ReconRun   int64      `json:"recon_run_id,omitempty"`
}

// RefundRecord is a refund as the ledger holds it: the refund, the trade it
// belongs to, and how the ledger first learned of it.
type RefundRecord struct {
	Account    string
	OutTradeNo string
	Refund
	Source    Source
	SourceRef string
	// ReconState and ReconRun are as for [Trade].
	ReconState ReconState
	ReconRun   int64
}

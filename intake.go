package payrecon

import (
	"net/http"
	"time"
)

// RawNotification is a notification as it arrived, kept verbatim.
type RawNotification struct {
	Header     http.Header
	Body       []byte
	ReceivedAt time.Time
}

// Recorded says what recording a notification did.
type Recorded struct {
	// ID is the notifications row.
	ID int64
	// Duplicate is true when the notification was already recorded (a
	// provider retry or a parallel delivery); the ledger was not touched
	// again.
	Duplicate bool
}

// Rejected is a notification that failed intake, kept in quarantine.
type Rejected struct {
	ReceivedAt time.Time
	Account    string
	Provider   string
	Reason     string
	Detail     string
	Method     string
	RemoteAddr string
	Header     http.Header
	Body       []byte
	// BodySize is the size of the body as received (it may exceed Body).
	BodySize int64
}

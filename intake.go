package payrecon

import (
	"net/http"
	"strings"
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

// KeepHeaders returns the headers of h worth keeping with a notification,
// accepted or rejected: an allow-list (the content headers, the client and
// proxy address headers, and the WeChat Pay signature headers), so that a
// credential a client or proxy adds is never stored.
func KeepHeaders(h http.Header) http.Header {
	out := http.Header{}
	for k, v := range h {
		if keptHeader(http.CanonicalHeaderKey(k)) {
			out[k] = v
		}
	}
	return out
}

func keptHeader(k string) bool {
	switch k {
	case "Content-Type", "Content-Length", "Content-Encoding", "User-Agent",
		"X-Forwarded-For", "X-Forwarded-Proto", "X-Real-Ip", "Request-Id":
		return true
	}
	return strings.HasPrefix(k, "Wechatpay-")
}

// QuarantineUsage is the quarantine's size and what its caps dropped.
type QuarantineUsage struct {
	Rows    int64
	Bytes   int64
	Dropped int64 // rows dropped by the size or age cap, ever
}

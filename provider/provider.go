// Package provider holds the contract every provider client meets and the
// errors callers branch on. The adapters are provider/alipay and
// provider/wechatpay; provider/sandbox emulates both servers.
package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/payrecon/payrecon"
)

// Errors callers branch on.
var (
	// ErrNotFound: the provider has no such trade or refund.
	ErrNotFound = errors.New("not found at the provider")
	// ErrBillNotReady: the day's bill is not generated yet; retry later.
	ErrBillNotReady = errors.New("bill not ready")
	// ErrNoBill: the provider says there is no bill because nothing
	// happened that day (WeChat Pay NO_STATEMENT_EXIST): an empty day.
	ErrNoBill = errors.New("no bill for this day")
	// ErrBadResponse: a response failed signature or integrity checks.
	ErrBadResponse = errors.New("response failed verification")
)

// Error is a classified provider failure. It never carries signatures,
// keys, tokens or full URLs.
type Error struct {
	Op        string
	Status    int    // HTTP status, when there was one
	Code      string // provider code (Alipay code, WeChat Pay code)
	SubCode   string // Alipay sub_code
	Message   string
	Retryable bool
	Err       error // a sentinel above, or nil
}

func (e *Error) Error() string {
	var parts []string
	if e.Status != 0 {
		parts = append(parts, fmt.Sprintf("HTTP %d", e.Status))
	}
	code := e.Code
	if e.SubCode != "" {
		code += "/" + e.SubCode
	}
	if code != "" {
		parts = append(parts, code)
	}
	if e.Message != "" {
		parts = append(parts, e.Message)
	}
	return e.Op + ": " + strings.Join(parts, " ")
}

func (e *Error) Unwrap() error { return e.Err }

// IsRetryable reports whether err is worth retrying later (network errors,
// 5xx, rate limits, "unknown result" codes).
func IsRetryable(err error) bool {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Retryable
	}
	return !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrBadResponse) && !errors.Is(err, ErrNoBill) && err != nil
}

// BillFormat names how a downloaded bill file is encoded (see
// [payrecon.BillFormat]).
type BillFormat = payrecon.BillFormat

// The formats a download yields.
const (
	AlipayZip = payrecon.BillAlipayZip // ZIP of GBK CSVs
	WeChatCSV = payrecon.BillWeChatCSV // UTF-8 backtick CSV
)

// Query is what an active query found, ready to apply to the ledger.
type Query struct {
	// Event is the ledger effect of what the provider reports; nil when
	// the provider reports nothing that changes the ledger (e.g. unpaid).
	Event *payrecon.Event
	// State is the provider's own state text (TRADE_SUCCESS, NOTPAY,
	// REFUND_SUCCESS…), kept as evidence.
	State string
	// Evidence is a short, secret-free account of the verified response.
	Evidence string
	// Currency is the currency the answer states its amounts in (WeChat
	// Pay amount.currency, Alipay trans_currency); "" when it states none.
	// Amounts in another currency than CNY are not fen and must not be
	// compared with the ledger's.
	Currency string
}

// Client is one merchant account at one provider. day is a calendar day in
// Beijing time. Methods are safe to call concurrently and idempotent.
type Client interface {
	// DownloadBill writes the day's trade bill, byte for byte as the
	// provider serves it (after any integrity check), to w. It returns
	// ErrBillNotReady when the bill is not generated yet and ErrNoBill for
	// a day without business.
	DownloadBill(ctx context.Context, day time.Time, w io.Writer) (BillFormat, error)
	// QueryPayment asks for a trade by merchant order number (and the
	// provider's number when known). ErrNotFound when the provider has no
	// such trade.
	QueryPayment(ctx context.Context, outTradeNo, providerTradeNo string) (Query, error)
	// QueryRefund asks for one refund. ErrNotFound when there is none.
	QueryRefund(ctx context.Context, outTradeNo, outRefundNo string) (Query, error)
}

// Wait pauses between attempts at a provider call: it returns after d, or
// ctx's error as soon as ctx ends (at once for d <= 0 and a live ctx: nil).
func Wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Pacer spaces provider calls at least an interval apart, whoever makes
// them (a provider's query rate limit). The zero Pacer is ready.
type Pacer struct {
	mu   sync.Mutex
	last time.Time
}

// Wait reserves the next slot interval after the last one given out and
// waits for it, or returns ctx's error as soon as ctx ends.
func (p *Pacer) Wait(ctx context.Context, interval time.Duration) error {
	p.mu.Lock()
	next := p.last.Add(interval)
	if now := time.Now(); next.Before(now) {
		next = now
	}
	p.last = next
	p.mu.Unlock()
	return Wait(ctx, time.Until(next))
}

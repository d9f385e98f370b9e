package jobs

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/payrecon/payrecon"
)

// OrderRequest is one order as the merchant submits it for the same-day
// sweep, through POST /api/orders or "payrecon orders import".
type OrderRequest struct {
	Account    string
	OutTradeNo string
	AmountFen  payrecon.Fen
	// CreatedAt is when the merchant created the order, in RFC 3339; ""
	// means now.
	CreatedAt string
}

// OrderRegistry is what order registration needs from the ledger.
type OrderRegistry interface {
	// RegisterOrders records all orders in one transaction, or none of
	// them on error. An order already registered under its (account,
	// out_trade_no) is left as it is. It returns how many were new.
	RegisterOrders(ctx context.Context, orders ...payrecon.ExpectedOrder) (int, error)
}

// OrderError is a rejected order of a batch; when [Registrar.Register]
// returns one, nothing in the batch was registered.
type OrderError struct {
	Row    int    // index of the order in the batch, from 0
	Field  string // account, out_trade_no, amount_fen or created_at
	Reason string
}

// Error names the order, the field and what is wrong with it.
func (e *OrderError) Error() string {
	return fmt.Sprintf("order %d: %s: %s", e.Row, e.Field, e.Reason)
}

// Registrar registers the orders the [Sweeper] checks. A batch is
// registered whole or not at all: every order is validated before any is
// recorded, and all are recorded in one transaction.
type Registrar struct {
	db       OrderRegistry
	accounts []string
	tiers    []Tier
	now      func() time.Time
}

// NewRegistrar returns a Registrar that accepts orders for the named
// accounts and schedules each order's first check one first-tier interval
// after its creation (tiers default to [DefaultTiers], now to time.Now).
func NewRegistrar(db OrderRegistry, accounts []string, tiers []Tier, now func() time.Time) *Registrar {
	if len(tiers) == 0 {
		tiers = DefaultTiers()
	}
	if now == nil {
		now = time.Now
	}
	return &Registrar{db: db, accounts: slices.Clone(accounts), tiers: tiers, now: now}
}

// Register validates every order, then records them all in one
// transaction. An invalid order is reported as an [*OrderError] and
// nothing is registered; any other error comes from the ledger. Orders
// already registered are counted as known and left unchanged.
func (r *Registrar) Register(ctx context.Context, reqs []OrderRequest) (added, known int, err error) {
	now := r.now()
	orders := make([]payrecon.ExpectedOrder, 0, len(reqs))
	for i, req := range reqs {
		o, err := r.order(req, now)
		if err != nil {
			err.Row = i
			return 0, 0, err
		}
		orders = append(orders, o)
	}
	if len(orders) == 0 {
		return 0, 0, nil
	}
	added, err = r.db.RegisterOrders(ctx, orders...)
	if err != nil {
		return 0, 0, fmt.Errorf("register %d orders: %w", len(orders), err)
	}
	return added, len(orders) - added, nil
}

// order validates one request and returns the order to record.
func (r *Registrar) order(req OrderRequest, now time.Time) (payrecon.ExpectedOrder, *OrderError) {
	switch {
	case !slices.Contains(r.accounts, req.Account):
		return payrecon.ExpectedOrder{}, &OrderError{Field: "account", Reason: fmt.Sprintf("unknown account %q", req.Account)}
	case req.OutTradeNo == "":
		return payrecon.ExpectedOrder{}, &OrderError{Field: "out_trade_no", Reason: "required"}
	case len(req.OutTradeNo) > 64:
		return payrecon.ExpectedOrder{}, &OrderError{Field: "out_trade_no", Reason: fmt.Sprintf("at most 64 bytes (got %d)", len(req.OutTradeNo))}
	case req.AmountFen <= 0:
		return payrecon.ExpectedOrder{}, &OrderError{Field: "amount_fen", Reason: fmt.Sprintf("want a positive whole number of fen (got %d)", req.AmountFen)}
	}
	created := now
	if req.CreatedAt != "" {
		t, err := time.Parse(time.RFC3339, req.CreatedAt)
		if err != nil {
			return payrecon.ExpectedOrder{}, &OrderError{Field: "created_at", Reason: fmt.Sprintf("want RFC 3339, such as 2006-01-02T15:04:05+08:00 (got %q)", req.CreatedAt)}
		}
		created = t
	}
	first := created.Add(r.tiers[0].Every)
	if first.Before(now) {
		first = now
	}
	return payrecon.ExpectedOrder{Account: req.Account, OutTradeNo: req.OutTradeNo, AmountFen: req.AmountFen,
		CreatedAt: created, Status: payrecon.OrderWaiting, NextCheckAt: first}, nil
}

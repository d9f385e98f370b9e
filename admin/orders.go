package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
)

// OrderRegistrar registers orders for the same-day sweep; [jobs.Registrar]
// is one.
type OrderRegistrar interface {
	// Register records all orders or none. An invalid order is reported
	// as a [*jobs.OrderError]; any other error is the ledger's.
	Register(ctx context.Context, orders []jobs.OrderRequest) (added, known int, err error)
}

// orderJSON is one expected order as POST /api/orders takes it.
type orderJSON struct {
	Account    string `json:"account"`
	OutTradeNo string `json:"out_trade_no"`
	AmountFen  int64  `json:"amount_fen"`
	CreatedAt  string `json:"created_at"` // RFC 3339; default now
}

// maxOrdersBody caps a POST /api/orders body.
const maxOrdersBody = 1 << 20

// HandleOrders answers POST /api/orders: one order object or an array of
// them, registered all or nothing. It replies 200 with
// {"registered": N, "already_known": M}; 400 naming the order and field
// when any order is invalid (and then registers none); 413 for a body over
// 1 MiB; 500 when the ledger fails.
func HandleOrders(logger *slog.Logger, orders OrderRegistrar) http.Handler {
	logger = logger.With("component", "admin")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxOrdersBody))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		reqs, err := decodeOrders(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		added, known, err := orders.Register(r.Context(), reqs)
		if oe := (*jobs.OrderError)(nil); errors.As(err, &oe) {
			http.Error(w, oe.Error()+" (nothing was registered)", http.StatusBadRequest)
			return
		}
		if err != nil {
			logger.Error("register orders failed", "orders", len(reqs), "err", err)
			http.Error(w, "ledger unavailable: nothing was registered", http.StatusInternalServerError)
			return
		}
		writeJSON(w, logger, map[string]int{"registered": added, "already_known": known})
	})
}

// decodeOrders reads one order object or an array of them.
func decodeOrders(body []byte) ([]jobs.OrderRequest, error) {
	const want = "want a JSON order or an array of orders"
	var raws []json.RawMessage
	if b := bytes.TrimSpace(body); len(b) > 0 && b[0] == '[' {
		if err := json.Unmarshal(b, &raws); err != nil {
			return nil, errors.New(want)
		}
	} else {
		raws = []json.RawMessage{b}
	}
	reqs := make([]jobs.OrderRequest, 0, len(raws))
	for i, raw := range raws {
		var o orderJSON
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&o); err != nil {
			if te := (*json.UnmarshalTypeError)(nil); errors.As(err, &te) && te.Field != "" {
				return nil, fmt.Errorf("order %d: %s: want a JSON %s (nothing was registered)", i, te.Field, jsonKind(te.Field))
			}
			if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
				return nil, fmt.Errorf("order %d: unknown field %s (fields: account, out_trade_no, amount_fen, created_at; nothing was registered)", i, field)
			}
			if len(raws) == 1 {
				return nil, errors.New(want)
			}
			return nil, fmt.Errorf("order %d: %s", i, want)
		}
		reqs = append(reqs, jobs.OrderRequest{Account: o.Account, OutTradeNo: o.OutTradeNo,
			AmountFen: payrecon.Fen(o.AmountFen), CreatedAt: o.CreatedAt})
	}
	return reqs, nil
}

// jsonKind names the JSON type of an orderJSON field.
func jsonKind(field string) string {
	if field == "amount_fen" {
		return "integer"
	}
	return "string"
}

package admin

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/payrecon/payrecon"
)

// EventLister is what /api/events needs from the ledger.
type EventLister interface {
	// EventsAfter returns at most limit outbox events with Seq > after,
	// in Seq order.
	EventsAfter(ctx context.Context, after int64, limit int) ([]payrecon.OutboxEvent, error)
}

// pulledEvent is one element of GET /api/events: the event's cursor, its
// delivery status and the body exactly as it is posted.
type pulledEvent struct {
	Seq    int64           `json:"seq"`
	Status string          `json:"status"`
	Event  json.RawMessage `json:"event"`
}

// HandleEvents answers GET /api/events?after=SEQ&limit=N (default 100, at
// most 1000): the events forwarded to the merchant's app, oldest first, for
// apps that prefer to pull. A client passes the last seq it saw as after.
func HandleEvents(logger *slog.Logger, events EventLister) http.Handler {
	logger = logger.With("component", "admin")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		after, err := strconv.ParseInt(q.Get("after"), 10, 64)
		if q.Get("after") != "" && (err != nil || after < 0) {
			http.Error(w, "after: want a sequence number of 0 or more", http.StatusBadRequest)
			return
		}
		n, _ := strconv.Atoi(q.Get("limit"))
		if n <= 0 || n > 1000 {
			n = 100
		}
		list, err := events.EventsAfter(r.Context(), after, n)
		if err != nil {
			logger.Error("list events failed", "err", err)
			http.Error(w, "ledger unavailable", http.StatusInternalServerError)
			return
		}
		out := make([]pulledEvent, 0, len(list))
		for _, e := range list {
			out = append(out, pulledEvent{Seq: e.Seq, Status: string(e.Status), Event: e.Body})
		}
		writeJSON(w, logger, out)
	})
}

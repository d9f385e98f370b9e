package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// pinger is what the health check needs from the ledger.
type pinger interface {
	Ping(ctx context.Context) error
}

// routes is payrecon's one route table.
func routes(notifyHandler http.Handler, db pinger, logger *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/notify/{account}", notifyHandler)
	mux.Handle("GET /healthz", handleHealthz(db, logger))
	return mux
}

func handleHealthz(db pinger, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := db.Ping(ctx); err != nil {
			logger.Warn("health check failed", "err", err)
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
}

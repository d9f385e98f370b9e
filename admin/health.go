package admin

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// Pinger is what /healthz needs from the ledger.
type Pinger interface {
	// Ping returns an error when the ledger cannot be read.
	Ping(ctx context.Context) error
}

// WriteChecker is what /readyz needs from the ledger.
type WriteChecker interface {
	// CheckWritable returns an error when the ledger does not accept
	// writes.
	CheckWritable(ctx context.Context) error
}

// HandleHealthz answers GET /healthz: 200 "ok" while the ledger can be
// read, 503 otherwise.
func HandleHealthz(logger *slog.Logger, db Pinger) http.Handler {
	logger = logger.With("component", "admin")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := db.Ping(ctx); err != nil {
			logger.Warn("health check failed", "err", err)
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok\n")
	})
}

// HandleReadyz answers GET /readyz: 200 "ready" once the ledger accepts
// writes and ready reports true (the schedules are loaded), 503 otherwise.
func HandleReadyz(logger *slog.Logger, db WriteChecker, ready func() bool) http.Handler {
	logger = logger.With("component", "admin")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if err := db.CheckWritable(ctx); err != nil {
			logger.Warn("readiness check failed", "err", err)
			http.Error(w, "database not writable", http.StatusServiceUnavailable)
			return
		}
		if !ready() {
			http.Error(w, "schedules not loaded", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ready\n")
	})
}

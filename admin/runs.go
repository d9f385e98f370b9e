package admin

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/payrecon/payrecon"
)

// RunLister is what /api/runs needs from the ledger.
type RunLister interface {
	// Runs returns at most limit reconciliation runs, newest first.
	Runs(ctx context.Context, limit int) ([]payrecon.Run, error)
}

// HandleRuns answers GET /api/runs?limit=N (default 50, at most 1000):
// the reconciliation runs, newest first, as a JSON array.
func HandleRuns(logger *slog.Logger, runs RunLister) http.Handler {
	logger = logger.With("component", "admin")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		if n <= 0 || n > 1000 {
			n = 50
		}
		list, err := runs.Runs(r.Context(), n)
		if err != nil {
			logger.Error("list runs failed", "err", err)
			http.Error(w, "ledger unavailable", http.StatusInternalServerError)
			return
		}
		if list == nil {
			list = []payrecon.Run{} // an empty array, never null
		}
		writeJSON(w, logger, list)
	})
}

// writeJSON answers 200 with v as JSON.
func writeJSON(w http.ResponseWriter, logger *slog.Logger, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		logger.Warn("write reply failed", "err", err)
	}
}

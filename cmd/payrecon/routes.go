package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/payrecon/payrecon/store"
)

// ledgerHealth is what the health checks need from the ledger.
type ledgerHealth interface {
	Ping(ctx context.Context) error
	CheckWritable(ctx context.Context) error
}

// routes is payrecon's one route table for the public listener: the
// intake, health checks, and (unless admin.listen is set) the admin routes
// and /metrics.
func routes(notifyHandler http.Handler, db ledgerHealth, ready *atomic.Bool, admin http.Handler, logger *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/notify/{account}", notifyHandler)
	mux.Handle("GET /healthz", handleHealthz(db, logger))
	mux.Handle("GET /readyz", handleReadyz(db, ready, logger))
	if admin != nil {
		mux.Handle("/", admin)
	}
	return mux
}

// adminRoutes are the operator's routes: metrics, workbooks and runs. The
// workbook and run routes need the admin token.
func adminRoutes(cfg Config, db *store.DB, token []byte, metrics http.Handler, logger *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	mux.Handle("GET /reports/{account}/{file}", requireToken(token, handleWorkbook(cfg, logger)))
	mux.Handle("GET /api/runs", requireToken(token, handleRuns(db)))
	mux.Handle("POST /api/orders", requireToken(token, handleOrders(cfg, db)))
	return mux
}

func handleHealthz(db ledgerHealth, logger *slog.Logger) http.Handler {
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

// handleReadyz: the database accepts writes and the schedules are loaded.
func handleReadyz(db ledgerHealth, ready *atomic.Bool, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if err := db.CheckWritable(ctx); err != nil {
			logger.Warn("readiness check failed", "err", err)
			http.Error(w, "database not writable", http.StatusServiceUnavailable)
			return
		}
		if !ready.Load() {
			http.Error(w, "schedules not loaded", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ready\n")
	})
}

// requireToken checks "Authorization: Bearer <token>" in constant time. With
// no token configured, the routes are disabled.
func requireToken(token []byte, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(token) == 0 {
			http.Error(w, "admin routes are disabled: set admin.token_file", http.StatusNotFound)
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), token) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="payrecon"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

var workbookName = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}\.xlsx$`)

func handleWorkbook(cfg Config, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		account, file := r.PathValue("account"), r.PathValue("file")
		if !hasAccount(cfg, account) || !workbookName.MatchString(file) {
			http.NotFound(w, r)
			return
		}
		f, err := os.Open(filepath.Join(cfg.Path(cfg.Reports.Dir), account, file))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			http.Error(w, "unreadable", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		w.Header().Set("Content-Disposition", `attachment; filename="`+account+"_"+file+`"`)
		http.ServeContent(w, r, file, st.ModTime(), f)
	})
}

func handleRuns(db *store.DB) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		if n <= 0 || n > 1000 {
			n = 50
		}
		runs, err := db.Runs(r.Context(), n)
		if err != nil {
			http.Error(w, "ledger unavailable", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(runs)
	})
}

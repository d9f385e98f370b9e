package main

import (
	"log/slog"
	"net/http"

	"github.com/payrecon/payrecon/admin"
	"github.com/payrecon/payrecon/notify"
)

// ledgerHealth is what the health checks need from the ledger.
type ledgerHealth interface {
	admin.Pinger
	admin.WriteChecker
}

// routes is payrecon's one route table for the public listener: the
// intake, health checks, and (unless admin.listen is set) the admin routes
// and /metrics.
func routes(notifyHandler http.Handler, db ledgerHealth, ready func() bool, adminMux http.Handler, logger *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/notify/{account}", notifyHandler)
	mux.Handle("GET /healthz", admin.HandleHealthz(logger, db))
	mux.Handle("GET /readyz", admin.HandleReadyz(logger, db, ready))
	if adminMux != nil {
		mux.Handle("/", adminMux)
	}
	return mux
}

// adminDeps are what the admin routes are built from.
type adminDeps struct {
	token      []byte // empty: the token-protected routes answer 404
	reportsDir string
	accounts   []string
	runs       admin.RunLister
	orders     admin.OrderRegistrar
	returns    admin.ReturnVerifiers
	events     admin.EventLister
	metrics    http.Handler
	console    http.Handler // the ops console (nil: none)
}

// adminRoutes are the operator's routes: metrics, workbooks, runs, order
// registration (also from synchronous returns) and events. All but /metrics need the admin token;
// /metrics needs it too unless it is on its own listener (admin.listen): startServer wraps it.
func adminRoutes(d adminDeps, logger *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", d.metrics)
	mux.Handle("GET /reports/{account}/{file}", admin.RequireToken(d.token, admin.HandleWorkbook(logger, d.reportsDir, d.accounts)))
	mux.Handle("GET /api/runs", admin.RequireToken(d.token, admin.HandleRuns(logger, d.runs)))
	mux.Handle("POST /api/orders", admin.RequireToken(d.token, admin.HandleOrders(logger, d.orders)))
	mux.Handle("POST /api/returns/{account}", admin.RequireToken(d.token, admin.HandleReturns(logger, d.returns, d.orders)))
	mux.Handle("GET /api/events", admin.RequireToken(d.token, admin.HandleEvents(logger, d.events)))
	if d.console != nil {
		mux.Handle("/console/", d.console)
	}
	return mux
}

// returnVerifiers verify the synchronous returns of the accounts that
// take them: Alipay's return_url parameters are signed like its
// notifications.
func returnVerifiers(accts []Account) admin.ReturnVerifiers {
	rv := admin.ReturnVerifiers{}
	for _, a := range accts {
		if av, ok := a.Verifier.(notify.AlipayVerifier); ok {
			rv[a.Config.Name] = av.V.Verify
		}
	}
	return rv
}

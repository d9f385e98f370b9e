// Package admin holds payrecon's operator HTTP handlers: health and
// readiness, workbook downloads, the run history and order registration
// for the same-day sweep, and the bearer-token check in front of them. It
// is the home the ops console grows in.
//
// Each handler is built by a maker function that takes its dependencies
// explicitly (a logger, the small interfaces declared here, config values)
// and returns an [http.Handler]. The route table that mounts them is the
// caller's (cmd/payrecon/routes.go). Handlers hold no business rules:
// actions call the same functions as the command line.
package admin

import (
	"crypto/subtle"
	"net/http"
	"strings"
)

// RequireToken passes a request to next only when it carries
// "Authorization: Bearer <token>", compared in constant time; otherwise
// it answers 401. With no token configured (len(token) == 0) the routes
// are disabled and answer 404. The token never appears in a reply or a log.
func RequireToken(token []byte, next http.Handler) http.Handler {
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

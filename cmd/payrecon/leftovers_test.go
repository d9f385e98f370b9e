package main

import (
	"net/http"
	"testing"
)

// TestMetricsNeedTokenOnPublicListener: without admin.listen, /metrics on
// the public notification listener is an admin route like the others: 404
// with no token configured, 401 without or with a wrong token, 200 with it.
func TestMetricsNeedTokenOnPublicListener(t *testing.T) {
	_, cfgPath := copySandbox(t)
	addr, _, stop := startServe(t, cfgPath)
	if code, b := getAuth(t, "http://"+addr+"/metrics", ""); code != http.StatusNotFound {
		t.Errorf("/metrics with no admin token configured: %d %.100s, want 404", code, b)
	}
	stop()

	token := withAdminToken(t, cfgPath)
	addr, _, _ = startServe(t, cfgPath)
	for _, tok := range []string{"", "wrong"} {
		if code, _ := getAuth(t, "http://"+addr+"/metrics", tok); code != http.StatusUnauthorized {
			t.Errorf("/metrics with token %q: %d, want 401", tok, code)
		}
	}
	if code, b := getAuth(t, "http://"+addr+"/metrics", token); code != http.StatusOK || len(b) == 0 {
		t.Errorf("/metrics with the admin token: %d, want 200 and the metrics", code)
	}
}

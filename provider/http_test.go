package provider_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/payrecon/payrecon/provider"
)

// TestHTTPClientIdleNotTotal: a body that keeps moving downloads however
// long it takes in all; one that stalls past the idle timeout fails.
func TestHTTPClientIdleNotTotal(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gap := 50 * time.Millisecond
		if r.URL.Path == "/stall" {
			gap = 2 * time.Second
		}
		for range 8 {
			w.Write(make([]byte, 1024))
			w.(http.Flusher).Flush()
			select {
			case <-time.After(gap):
			case <-r.Context().Done():
				return
			}
		}
	}))
	defer srv.Close()
	c := provider.NewHTTPClient(time.Second, 300*time.Millisecond)
	if c.Timeout != 0 {
		t.Fatalf("total timeout %s caps every download", c.Timeout)
	}
	get := func(path string) (int, error) {
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return len(b), err
	}
	if n, err := get("/slow"); err != nil || n != 8<<10 {
		t.Fatalf("slow but moving: %d bytes, %v", n, err)
	}
	if _, err := get("/stall"); err == nil {
		t.Fatal("a stalled body did not time out")
	}
}

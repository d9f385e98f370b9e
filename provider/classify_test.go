package provider_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon/provider"
)

// TestTransportError: connection refused, an unknown host and TLS
// failures are misconfigurations whose hint names the host and the config
// field (never the path or query); a timeout stays retryable.
func TestTransportError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer tlsSrv.Close()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer slow.Close()
	hc := &http.Client{Timeout: 5 * time.Second}
	do := func(rawURL string, timeout time.Duration) error {
		ctx, cancel := context.WithTimeout(t.Context(), timeout)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("%s answered", rawURL)
		}
		return err
	}
	tlsHost := strings.TrimPrefix(tlsSrv.URL, "https://")
	cases := []struct {
		name, url string
		err       error
		hint      string // "" for retryable
	}{
		{"refused", "http://" + closed + "/v3/x?key=k", do("http://"+closed+"/v3/x", 5*time.Second), "cannot connect to WeChat Pay at " + closed + " (connection refused): check base_url"},
		{"unknown authority", tlsSrv.URL + "/v3/x", do(tlsSrv.URL+"/v3/x", 5*time.Second), "TLS failure talking to WeChat Pay at " + tlsHost + ": check base_url"},
		{"unknown host", "https://api.mch.example/v3/x", &url.Error{Op: "Get", URL: "https://api.mch.example/v3/x", Err: &net.DNSError{Err: "no such host", Name: "api.mch.example", IsNotFound: true}},
			"unknown host api.mch.example for WeChat Pay: check base_url"},
		{"timeout", slow.URL, do(slow.URL, 200*time.Millisecond), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := provider.TransportError("wechatpay query order", "WeChat Pay", "base_url", c.url, c.err)
			if c.hint == "" {
				if errors.Is(err, provider.ErrMisconfigured) || !provider.IsRetryable(err) {
					t.Fatalf("%v: misconfigured %v, retryable %v", err, errors.Is(err, provider.ErrMisconfigured), provider.IsRetryable(err))
				}
				return
			}
			if !errors.Is(err, provider.ErrMisconfigured) || provider.IsRetryable(err) || !strings.HasPrefix(err.Error(), c.hint) {
				t.Fatalf("got %v (hint %q), want hint %q", err, provider.HintOf(err), c.hint)
			}
			if strings.Contains(provider.HintOf(err), "key=k") || strings.Contains(provider.HintOf(err), "/v3/") {
				t.Fatalf("hint shows the path or query: %q", provider.HintOf(err))
			}
		})
	}
}

package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDemoKeepsConsole: "payrecon demo -keep" prints the console's URL
// and a sign-in token, and leaves the console up (the token opens the
// inbox, with the day's open items) until its context ends.
func TestDemoKeepsConsole(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole tour")
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"demo", "-clean", "-keep", "-trades", "10"}, noenv, out, io.Discard) }()
	line := regexp.MustCompile(`ops console: (http://127\.0\.0\.1:\d+/console/)  \(sign in with the token ([0-9a-f]{32})\)`)
	var m []string
	for deadline := time.Now().Add(3 * time.Minute); m == nil; {
		select {
		case err := <-done:
			t.Fatalf("the demo ended before the console was up: %v\n%s", err, out.String())
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no console line:\n%s", out.String())
		}
		m = line.FindStringSubmatch(out.String())
	}
	time.Sleep(300 * time.Millisecond) // -keep: still up after the tour
	req, _ := http.NewRequestWithContext(t.Context(), "GET", m[1]+"inbox?lang=en", nil)
	req.Header.Set("Authorization", "Bearer "+m[2])
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "NEEDS_REVIEW") {
		t.Fatalf("console inbox with the printed token: %d\n%s", res.StatusCode, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo after Ctrl-C: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the demo did not stop when its context ended")
	}
}

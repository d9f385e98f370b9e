package console

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// signInLimit bounds failed sign-ins (a wrong token in the form or as a
// bearer token) per client address: after MaxFailures within Window, the
// address is refused — without its token being compared — until its
// oldest counted failure leaves the window. Tokens are long and random, so
// this is defence in depth against guessing, and it keeps the log from
// filling. Behind a reverse proxy every client has the proxy's address, so
// a guesser locks out everyone until the window passes; the limit is
// generous for that reason.
type signInLimit struct {
	MaxFailures int
	Window      time.Duration

	mu       sync.Mutex
	failures map[string][]time.Time // per address, oldest first
}

// maxTracked bounds the addresses remembered; beyond it, the oldest
// entries' expired failures are dropped first, then new addresses are
// refused until some expire (a flood of addresses cannot grow memory).
const maxTracked = 10000

// host is r's client address without the port.
func host(r *http.Request) string {
	h, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return h
}

// blocked reports whether addr may not try now, and until when.
func (l *signInLimit) blocked(addr string, now time.Time) (bool, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fs := l.recent(addr, now)
	if len(fs) >= l.MaxFailures {
		return true, fs[0].Add(l.Window)
	}
	if len(fs) == 0 && len(l.failures) >= maxTracked {
		l.prune(now)
		if len(l.failures) >= maxTracked {
			return true, now.Add(l.Window)
		}
	}
	return false, time.Time{}
}

// fail counts a failed attempt from addr.
func (l *signInLimit) fail(addr string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failures == nil {
		l.failures = map[string][]time.Time{}
	}
	if _, ok := l.failures[addr]; !ok && len(l.failures) >= maxTracked {
		l.prune(now)
		if len(l.failures) >= maxTracked {
			return
		}
	}
	l.failures[addr] = append(l.recent(addr, now), now)
}

// recent is addr's failures within the window (the map is updated).
func (l *signInLimit) recent(addr string, now time.Time) []time.Time {
	fs := l.failures[addr]
	i := 0
	for i < len(fs) && now.Sub(fs[i]) >= l.Window {
		i++
	}
	fs = fs[i:]
	if len(fs) == 0 {
		delete(l.failures, addr)
	} else {
		l.failures[addr] = fs
	}
	return fs
}

// prune drops every address whose failures have all expired.
func (l *signInLimit) prune(now time.Time) {
	for addr := range l.failures {
		l.recent(addr, now)
	}
}

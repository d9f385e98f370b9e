package provider

import (
	"context"
	"net"
	"net/http"
	"time"
)

// NewHTTPClient returns the HTTP client for provider APIs and bill
// downloads. It has no total timeout, which would cap how large a bill
// may be; instead connecting (and the TLS handshake) must finish within
// connect, and the connection fails when no byte moves for idle (the
// response headers included). Callers bound a whole call with their ctx.
func NewHTTPClient(connect, idle time.Duration) *http.Client {
	d := &net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &idleConn{Conn: c, idle: idle}, nil
	}
	tr.TLSHandshakeTimeout = connect
	tr.ResponseHeaderTimeout = idle
	tr.IdleConnTimeout = 90 * time.Second
	return &http.Client{Transport: tr}
}

// idleConn fails a read or write that moves no byte for idle.
type idleConn struct {
	net.Conn
	idle time.Duration
}

func (c *idleConn) Read(p []byte) (int, error) {
	c.Conn.SetReadDeadline(time.Now().Add(c.idle))
	return c.Conn.Read(p)
}

func (c *idleConn) Write(p []byte) (int, error) {
	c.Conn.SetWriteDeadline(time.Now().Add(c.idle))
	return c.Conn.Write(p)
}

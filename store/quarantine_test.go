package store_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

func junk(at time.Time, body int, hdr http.Header) payrecon.Rejected {
	return payrecon.Rejected{ReceivedAt: at, Account: "a", Provider: "alipay", Reason: "bad_signature",
		Detail: strings.Repeat("d", 4<<10), Method: "POST", RemoteAddr: "127.0.0.1:1",
		Header: hdr, Body: bytes.Repeat([]byte{'b'}, body), BodySize: int64(body)}
}

// TestQuarantineEntryCap: one rejection stores at most the entry cap,
// body prefix and allow-listed headers together, and never a credential.
func TestQuarantineEntryCap(t *testing.T) { testQuarantineEntryCap(t, storetest.MustOpen) }

func testQuarantineEntryCap(t *testing.T, open func(testing.TB, store.Options) *store.DB) {
	db := open(t, store.Options{})
	hdr := http.Header{"X-Api-Key": {"sekret"}, "Content-Type": {"text/plain"},
		"Wechatpay-Signature": {strings.Repeat("s", 20<<10)}, "X-Junk": {strings.Repeat("j", 100<<10)}}
	if err := db.Quarantine(t.Context(), junk(t0, 64<<10, hdr)); err != nil {
		t.Fatal(err)
	}
	u, err := db.QuarantineUsage(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if u.Rows != 1 || u.Bytes > 16<<10 || u.Bytes < 8<<10 {
		t.Fatalf("usage %+v, want one row of at most 16 KiB", u)
	}
	rows, err := db.QuarantineRows(t.Context(), 10)
	if err != nil {
		t.Fatal(err)
	}
	got := rows[0]
	if got.Header.Get("X-Api-Key") != "" || got.Header.Get("X-Junk") != "" || got.Header.Get("Content-Type") != "text/plain" {
		t.Errorf("headers kept: %v", got.Header)
	}
	if !got.Truncated || got.BodySize != 64<<10 {
		t.Errorf("truncated %v, size %d", got.Truncated, got.BodySize)
	}
}

// TestQuarantineCap: the quarantine keeps at most MaxBytes and MaxAge,
// dropping the oldest first and counting what it dropped.
func TestQuarantineCap(t *testing.T) { testQuarantineCap(t, storetest.MustOpen) }

func testQuarantineCap(t *testing.T, open func(testing.TB, store.Options) *store.DB) {
	db := open(t, store.Options{Quarantine: store.QuarantineLimits{MaxBytes: 64 << 10, MaxAge: 30 * 24 * time.Hour}})
	for i := range 40 {
		if err := db.Quarantine(t.Context(), junk(t0.Add(time.Duration(i)*time.Second), 8<<10, nil)); err != nil {
			t.Fatal(err)
		}
	}
	u, err := db.QuarantineUsage(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if u.Bytes > 64<<10 || u.Rows == 0 || u.Dropped != 40-u.Rows {
		t.Fatalf("usage %+v: want at most 64 KiB, the rest dropped", u)
	}
	rows, _ := db.QuarantineRows(t.Context(), 100)
	if last := rows[0].ReceivedAt; !last.Equal(t0.Add(39 * time.Second)) {
		t.Errorf("newest kept %v: the newest must survive", last)
	}
	// Thirty days on, one more rejection drops everything older.
	if err := db.Quarantine(t.Context(), junk(t0.Add(31*24*time.Hour), 10, nil)); err != nil {
		t.Fatal(err)
	}
	if u, _ = db.QuarantineUsage(t.Context()); u.Rows != 1 || u.Dropped != 40 {
		t.Fatalf("after 31 days: %+v, want 1 row and 40 dropped", u)
	}
}

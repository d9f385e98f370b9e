package store

import (
	"testing"
	"time"
)

// TestParseStoredUTC: the fast path reads what fmtTime writes exactly as
// time.Parse does, and leaves every other form to time.Parse.
func TestParseStoredUTC(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC),
		time.Date(2024, 2, 29, 23, 59, 59, 999e6, time.UTC),
		time.Date(1999, 12, 31, 16, 0, 0, 1e6, time.FixedZone("CST", 8*3600)),
		time.Unix(0, 0),
	} {
		s := fmtTime(tm)
		got, ok := parseStoredUTC(s)
		want, err := time.Parse(timeLayout, s)
		if !ok || err != nil || !got.Equal(want) || got.Location() != want.Location() || got != want {
			t.Errorf("%s: fast %v %v, time.Parse %v %v", s, got, ok, want, err)
		}
	}
	for _, s := range []string{"", "2026-11-31T00:00:00.000Z", "2026-13-01T00:00:00.000Z", "2026-11-20T24:00:00.000Z",
		"2026-11-20T02:00:00.000+08:00", "2026-11-20T02:00:00Z", "2026-11-20 02:00:00.000Z", "2026-1a-20T02:00:00.000Z"} {
		if _, ok := parseStoredUTC(s); ok {
			t.Errorf("%q read by the fast path", s)
		}
	}
}

// FuzzParseStoredTime: whatever the fast path accepts, time.Parse reads
// to the same instant in the same location.
func FuzzParseStoredTime(f *testing.F) {
	f.Add("2026-11-20T02:00:00.000Z")
	f.Add("2026-02-29T00:00:00.000Z")
	f.Add("0000-01-01T00:00:00.000Z")
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseStoredUTC(s)
		if !ok {
			return
		}
		want, err := time.Parse(timeLayout, s)
		if err != nil || got != want {
			t.Fatalf("%q: fast %v, time.Parse %v %v", s, got, want, err)
		}
	})
}

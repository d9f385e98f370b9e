package payrecon_test

import (
	"testing"
	"time"

	"github.com/payrecon/payrecon"
)

func TestDayIsBeijingDate(t *testing.T) {
	// 2026-11-21 23:30 and 2026-11-22 00:30 Beijing time, written in UTC.
	late := time.Date(2026, 11, 21, 15, 30, 0, 0, time.UTC)
	early := time.Date(2026, 11, 21, 16, 30, 0, 0, time.UTC)
	d := payrecon.DayOf(late)
	if got := d.String(); got != "2026-11-21" {
		t.Fatalf("DayOf(23:30 CST) = %s", got)
	}
	if got := payrecon.DayOf(early).String(); got != "2026-11-22" {
		t.Fatalf("DayOf(00:30 CST) = %s", got)
	}
	if !d.Contains(late) || d.Contains(early) {
		t.Fatalf("Contains: late %v early %v", d.Contains(late), d.Contains(early))
	}
	if want := time.Date(2026, 11, 20, 16, 0, 0, 0, time.UTC); !d.Start().Equal(want) {
		t.Fatalf("Start = %s, want %s", d.Start().UTC(), want)
	}
	if !d.End().Equal(d.Start().Add(24 * time.Hour)) {
		t.Fatalf("End = %s", d.End())
	}
}

func TestDayArithmetic(t *testing.T) {
	d, err := payrecon.ParseDay("2026-02-28")
	if err != nil {
		t.Fatal(err)
	}
	if got := d.AddDays(1).String(); got != "2026-03-01" {
		t.Fatalf("AddDays(1) = %s", got)
	}
	if got := d.AddDays(-59).String(); got != "2025-12-31" {
		t.Fatalf("AddDays(-59) = %s", got)
	}
	if !d.Before(d.AddDays(1)) || !d.AddDays(1).After(d) || d.Compare(d) != 0 {
		t.Fatal("ordering")
	}
	if payrecon.NewDay(2026, 2, 28) != d {
		t.Fatal("NewDay differs from ParseDay")
	}
}

func TestParseDayRejects(t *testing.T) {
	for _, s := range []string{"", "2026-2-1", "2026-02-30", "yesterday", "2026-11-21T00:00:00Z"} {
		if _, err := payrecon.ParseDay(s); err == nil {
			t.Errorf("ParseDay(%q) accepted", s)
		}
	}
}

func TestDayText(t *testing.T) {
	d := payrecon.NewDay(2026, 11, 21)
	b, _ := d.MarshalText()
	var back payrecon.Day
	if err := back.UnmarshalText(b); err != nil || back != d {
		t.Fatalf("round trip %q: %v %v", b, back, err)
	}
	if err := back.UnmarshalText([]byte("21/11/2026")); err == nil {
		t.Fatal("bad text accepted")
	}
	if (payrecon.Day{}).String() != "" || !(payrecon.Day{}).IsZero() {
		t.Fatal("zero day")
	}
}

func TestTally(t *testing.T) {
	c := map[payrecon.Code]int{payrecon.MissingLocal: 2, payrecon.Matched: 15, payrecon.Duplicate: 0}
	if got := payrecon.Tally(payrecon.Codes, c); got != "MATCHED=15 MISSING_LOCAL=2" {
		t.Fatalf("Tally = %q", got)
	}
	if got := payrecon.Tally(payrecon.Outcomes, nil); got != "" {
		t.Fatalf("Tally(nil) = %q", got)
	}
}

package payrecon

import (
	"fmt"
	"time"
)

// Day is a bill day: a calendar date in China Standard Time (UTC+8), the
// day both providers cut their bills on. It is the one notion of "a day"
// the job, the diff, the store and the CLI share; the configured display
// zone (`timezone`) never changes which instants a Day covers.
//
// The zero Day is no day; use [DayOf], [NewDay] or [ParseDay].
type Day struct {
	y int
	m time.Month
	d int
}

// DayLayout is how a Day is written: 2006-01-02.
const DayLayout = "2006-01-02"

// NewDay returns the day y-m-d, normalised like time.Date (Feb 30 is Mar 2).
func NewDay(y int, m time.Month, d int) Day {
	return DayOf(time.Date(y, m, d, 12, 0, 0, 0, ShanghaiFixed))
}

// DayOf returns the bill day that contains the instant t.
func DayOf(t time.Time) Day {
	y, m, d := t.In(ShanghaiFixed).Date()
	return Day{y, m, d}
}

// ParseDay parses a day written YYYY-MM-DD.
func ParseDay(s string) (Day, error) {
	t, err := time.ParseInLocation(DayLayout, s, ShanghaiFixed)
	if err != nil {
		return Day{}, fmt.Errorf("day %q: want YYYY-MM-DD", s)
	}
	return DayOf(t), nil
}

// IsZero reports whether d is the zero Day.
func (d Day) IsZero() bool { return d == Day{} }

// Start is the first instant of the day (00:00 Beijing time).
func (d Day) Start() time.Time { return time.Date(d.y, d.m, d.d, 0, 0, 0, 0, ShanghaiFixed) }

// End is the first instant after the day (00:00 Beijing time of the next day).
func (d Day) End() time.Time { return d.Start().AddDate(0, 0, 1) }

// Contains reports whether the instant t falls within the day.
func (d Day) Contains(t time.Time) bool {
	return !t.IsZero() && !t.Before(d.Start()) && t.Before(d.End())
}

// AddDays returns the day n days after d (before it when n < 0).
func (d Day) AddDays(n int) Day { return DayOf(d.Start().AddDate(0, 0, n).Add(12 * time.Hour)) }

// Before reports whether d is an earlier day than o.
func (d Day) Before(o Day) bool { return d.Compare(o) < 0 }

// After reports whether d is a later day than o.
func (d Day) After(o Day) bool { return d.Compare(o) > 0 }

// Compare returns -1, 0 or +1 as d is before, equal to or after o.
func (d Day) Compare(o Day) int { return d.Start().Compare(o.Start()) }

// Date returns the day's year, month and day of the month.
func (d Day) Date() (int, time.Month, int) { return d.y, d.m, d.d }

// String writes the day as YYYY-MM-DD ("" for the zero Day).
func (d Day) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.y, d.m, d.d)
}

// MarshalText writes the day as YYYY-MM-DD.
func (d Day) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads a day written YYYY-MM-DD (empty: the zero Day).
func (d *Day) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Day{}
		return nil
	}
	v, err := ParseDay(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

package payrecon_test

import (
	"errors"
	"testing"

	"github.com/payrecon/payrecon"
)

func TestParseRatePPM(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
	}{{"0.60%", 6000}, {"0.6%", 6000}, {"1%", 10000}, {"1.00%", 10000}, {"0.38%", 3800}, {"0.2%", 2000}, {"0.00%", 0}, {"0.0625%", 625}} {
		got, err := payrecon.ParseRatePPM(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseRatePPM(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "%", "0.6", "-0.6%", "+0.6%", "0.60001%", "1e2%", "0,6%", " 0.6%", "abc%"} {
		if _, err := payrecon.ParseRatePPM(bad); !errors.Is(err, payrecon.ErrBadAmount) {
			t.Errorf("ParseRatePPM(%q): err %v, want ErrBadAmount", bad, err)
		}
	}
}

func TestFeeAtRate(t *testing.T) {
	for _, c := range []struct {
		amount payrecon.Fen
		ppm    int64
		want   int64
	}{
		{600, 6000, 4000}, // the WeChat Pay sample: 6.00 at 0.60% → 0.04000
		{1, 10000, 0},     // 0.01 at 1.00% → 0.00000
		{250, 6000, 2000}, // 0.015 rounds half up to 0.02
		{249, 6000, 1000},
		{-600, 6000, -4000},
	} {
		if got := payrecon.FeeAtRate(c.amount, c.ppm); got != c.want {
			t.Errorf("FeeAtRate(%d, %d) = %d, want %d", c.amount, c.ppm, got, c.want)
		}
	}
}

func FuzzParseRatePPM(f *testing.F) {
	for _, s := range []string{"0.60%", "1%", "0.0625%", "-1%", "0.6"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := payrecon.ParseRatePPM(s)
		if err != nil {
			return
		}
		if v < 0 {
			t.Fatalf("ParseRatePPM(%q) = %d: negative", s, v)
		}
	})
}

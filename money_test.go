package payrecon_test

import (
	"errors"
	"testing"

	"github.com/payrecon/payrecon"
)

func TestParseYuan(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want payrecon.Fen
		ok   bool
	}{
		{"0.10", 10, true}, {"7", 700, true}, {"-0.04", -4, true}, {"123.4", 12340, true}, {"+1.00", 100, true},
		{"0.001", 0, false}, {"1e3", 0, false}, {"", 0, false}, {"1.", 0, false}, {".5", 0, false},
		{"1,000.00", 0, false}, {" 1.00", 0, false}, {"--1", 0, false}, {"1234567890123456.00", 0, false},
	} {
		got, err := payrecon.ParseYuan(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseYuan(%q) = %d, %v; want %d ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && !errors.Is(err, payrecon.ErrBadAmount) {
			t.Errorf("ParseYuan(%q): error %v is not ErrBadAmount", tc.in, err)
		}
	}
	if got, err := payrecon.ParseYuanFixed("-0.27000", 5); err != nil || got != -27000 {
		t.Errorf("ParseYuanFixed = %d, %v", got, err)
	}
}

func TestYuan(t *testing.T) {
	for f, want := range map[payrecon.Fen]string{0: "0.00", 5: "0.05", -5: "-0.05", 12345: "123.45", -100: "-1.00"} {
		if got := f.Yuan(); got != want {
			t.Errorf("%d.Yuan() = %s, want %s", f, got, want)
		}
	}
}

func FuzzParseYuan(f *testing.F) {
	for _, s := range []string{"0.10", "-12.3", "7", "1e3", "0.001", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := payrecon.ParseYuan(s)
		if err != nil {
			return
		}
		back, err := payrecon.ParseYuan(v.Yuan())
		if err != nil || back != v {
			t.Fatalf("%q -> %d -> %q -> %d, %v", s, v, v.Yuan(), back, err)
		}
	})
}

package payrecon_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

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
		vb, errb := payrecon.ParseYuanBytes([]byte(s))
		if vb != v || fmt.Sprint(errb) != fmt.Sprint(err) {
			t.Fatalf("%q: ParseYuan %d, %v; ParseYuanBytes %d, %v", s, v, err, vb, errb)
		}
		fs, errs := payrecon.ParseFeeE5(s)
		if fb, errb := payrecon.ParseFeeE5Bytes([]byte(s)); fb != fs || fmt.Sprint(errb) != fmt.Sprint(errs) {
			t.Fatalf("%q: ParseFeeE5 %d, %v; ParseFeeE5Bytes %d, %v", s, fs, errs, fb, errb)
		}
		if err != nil {
			return
		}
		back, err := payrecon.ParseYuan(v.Yuan())
		if err != nil || back != v {
			t.Fatalf("%q -> %d -> %q -> %d, %v", s, v, v.Yuan(), back, err)
		}
	})
}

func TestParseBeijingTime(t *testing.T) {
	got, err := payrecon.ParseBeijingTime("2026-11-20 23:59:59")
	if err != nil || !got.Equal(time.Date(2026, 11, 20, 15, 59, 59, 0, time.UTC)) {
		t.Fatalf("%v %v", got, err)
	}
	for _, bad := range []string{"2026-02-30 00:00:00", "2026-13-01 00:00:00", "2026-11-20 24:00:00", "2026-11-20T10:00:00", "", "x"} {
		if _, err := payrecon.ParseBeijingTime(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func FuzzParseBeijingTime(f *testing.F) {
	f.Add("2026-11-20 23:59:59")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := payrecon.ParseBeijingTime(s)
		if gb, errb := payrecon.ParseBeijingTimeBytes([]byte(s)); !gb.Equal(got) || fmt.Sprint(errb) != fmt.Sprint(err) {
			t.Fatalf("%q: ParseBeijingTime %v, %v; ParseBeijingTimeBytes %v, %v", s, got, err, gb, errb)
		}
		if err != nil {
			return
		}
		want, err2 := time.ParseInLocation("2006-01-02 15:04:05", s, payrecon.ShanghaiFixed)
		if err2 != nil || !want.Equal(got) {
			t.Fatalf("%q: fast %v, slow %v %v", s, got, want, err2)
		}
	})
}

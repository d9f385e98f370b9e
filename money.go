package payrecon

import (
	"errors"
	"fmt"
)

// Fen is an amount of money in fen (分, 1/100 yuan). payrecon never holds money
// in a float: provider amounts in yuan are parsed digit by digit with
// [ParseYuan] and WeChat Pay's integer fen are taken as they are.
type Fen int64

// ErrBadAmount is returned for a money string that is not a plain decimal
// amount in yuan.
var ErrBadAmount = errors.New("bad amount")

// ParseYuan parses a decimal yuan amount such as "0.10", "-12.3" or "7" into
// fen. It accepts an optional sign, digits, and at most two decimals; anything
// else (exponents, spaces inside, thousands separators, a third decimal) is an
// error, because a silently rounded amount is a wrong ledger.
func ParseYuan(s string) (Fen, error) {
	return parseDecimal(s, 2)
}

// ParseYuanFixed parses a decimal yuan amount with up to places decimals (2
// for most amounts, 5 for WeChat Pay fees) and returns it scaled by
// 10^places: ParseYuanFixed("0.04000", 5) is 4000. Trailing digits beyond
// places are an error, never rounded.
func ParseYuanFixed(s string, places int) (int64, error) {
	f, err := parseDecimal(s, places)
	return int64(f), err
}

// ParseYuanBytes is [ParseYuan] on a field still in its read buffer, so
// a bill parser need not convert every amount to a string.
func ParseYuanBytes(b []byte) (Fen, error) {
	return parseDecimal(b, 2)
}

// ParseFeeE5Bytes is [ParseFeeE5] on a field still in its read buffer.
func ParseFeeE5Bytes(b []byte) (int64, error) {
	if len(b) == 0 {
		return 0, nil
	}
	f, err := parseDecimal(b, 5)
	return int64(f), err
}

func parseDecimal[T ~string | ~[]byte](s T, places int) (Fen, error) {
	bad := func() (Fen, error) { return 0, fmt.Errorf("%w: %q", ErrBadAmount, s) }
	if len(s) == 0 {
		return 0, fmt.Errorf("%w: empty", ErrBadAmount)
	}
	i, neg := 0, false
	switch s[0] {
	case '-':
		neg, i = true, 1
	case '+':
		i = 1
	}
	var n int64
	intDigits, fracDigits, dot := 0, 0, false
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.' && !dot && intDigits > 0:
			dot = true
		case c >= '0' && c <= '9':
			if dot {
				if fracDigits++; fracDigits > places {
					return bad()
				}
			} else if intDigits++; intDigits > 15 {
				return bad()
			}
			n = n*10 + int64(c-'0')
		default:
			return bad()
		}
	}
	if intDigits == 0 || (dot && fracDigits == 0) {
		return bad()
	}
	for ; fracDigits < places; fracDigits++ {
		n *= 10
	}
	if neg {
		n = -n
	}
	return Fen(n), nil
}

// Yuan formats f as a yuan amount with two decimals, e.g. "-0.05".
func (f Fen) Yuan() string {
	sign := ""
	n := int64(f)
	if n < 0 {
		sign, n = "-", -n
	}
	return fmt.Sprintf("%s%d.%02d", sign, n/100, n%100)
}

// String returns f in yuan, for logs and reports.
func (f Fen) String() string { return f.Yuan() }

// ParseFeeE5 parses a fee as the bills state it, with up to five decimals,
// in units of 0.00001 yuan; an empty field is no fee.
func ParseFeeE5(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	return ParseYuanFixed(s, 5)
}

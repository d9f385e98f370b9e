package payrecon

import (
	"fmt"
	"strings"
)

// ParseRatePPM parses a fee rate as the bills state it ("0.60%", "0.6%",
// "1%", up to four decimals of a percent) into parts per million: "0.60%"
// is 6000. The percent sign is required; a sign, an exponent or a fifth
// decimal is an error, wrapping [ErrBadAmount].
func ParseRatePPM(s string) (int64, error) {
	num, ok := strings.CutSuffix(s, "%")
	if !ok || num == "" || strings.HasPrefix(num, "-") || strings.HasPrefix(num, "+") {
		return 0, fmt.Errorf("rate %q: want a percentage such as 0.60%%: %w", s, ErrBadAmount)
	}
	v, err := ParseYuanFixed(num, 4)
	if err != nil {
		return 0, fmt.Errorf("rate %q: %w", s, err)
	}
	return v, nil
}

// FeeAtRate is the fee on amount at rate (parts per million), rounded half
// up to the fen, in 1e-5 yuan as the bills state fees.
func FeeAtRate(amount Fen, ratePPM int64) int64 {
	n := int64(amount) * ratePPM
	if n < 0 {
		return -FeeAtRate(-amount, ratePPM)
	}
	return (n + 500_000) / 1_000_000 * 1000
}

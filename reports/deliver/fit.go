package deliver

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MoreMarker is the last line of a message cut to fit: "… and N more"
// (en) or "… 另有 N 条" (zh, the default), N counting the lines left out.
func MoreMarker(locale string, n int) string {
	if locale == "en" {
		return fmt.Sprintf("… and %d more", n)
	}
	return fmt.Sprintf("… 另有 %d 条", n)
}

// Fit returns text cut at a line boundary so that size(result) is at most
// limit: the lines that do not fit are dropped from the end and replaced by
// one [MoreMarker] line. size measures what the robot counts (the
// rendered content, or the whole request body); text that fits is returned
// unchanged. A first line too long on its own is cut at a rune boundary.
// size(s) must be at least len(s).
func Fit(text string, limit int, locale string, size func(string) int) string {
	if size(text) <= limit {
		return text
	}
	lines := strings.Split(text, "\n")
	// size(s) is never less than len(s): start from the most lines whose
	// bytes alone fit, then drop more until the measure fits.
	keep, n := 0, 0
	for keep < len(lines)-1 && n+len(lines[keep])+1 <= limit {
		n += len(lines[keep]) + 1
		keep++
	}
	for ; keep > 0; keep-- {
		cand := strings.Join(lines[:keep], "\n") + "\n" + MoreMarker(locale, len(lines)-keep)
		if size(cand) <= limit {
			return cand
		}
	}
	marker := "\n" + MoreMarker(locale, len(lines)-1)
	first := lines[0]
	for len(first) > 0 && size(first+marker) > limit {
		_, n := utf8.DecodeLastRuneInString(first)
		first = first[:len(first)-n]
	}
	return first + marker
}

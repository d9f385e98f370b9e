package archive

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider/alipay"
)

// Line is one line of an archived bill as the provider wrote it, decoded
// to UTF-8 (Alipay's GBK), with its 1-based number in the file (for an
// Alipay ZIP, in its trade detail CSV).
type Line struct {
	N    int    `json:"n"`
	Text string `json:"text"`
}

// maxLineBytes bounds one bill line; longer lines are skipped.
const maxLineBytes = 64 << 10

// FindLines returns up to max lines of the bill that have one of keys
// (order, provider trade or refund numbers) as a whole field, in file
// order: a person checking an item sees the bill's own words. A field is
// compared with WeChat Pay's leading backquote, quotes, spaces and tabs
// trimmed; an empty key matches nothing.
func FindLines(bill payrecon.Bill, keys []string, max int) ([]Line, error) {
	want := map[string]bool{}
	for _, k := range keys {
		if k != "" {
			want[k] = true
		}
	}
	if bill.Path == "" || len(want) == 0 || max <= 0 {
		return nil, nil
	}
	r, closeFn, err := openLines(bill)
	if err != nil {
		return nil, fmt.Errorf("bill lines %s: %w", bill.Path, err)
	}
	defer closeFn()
	var out []Line
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLineBytes)
	for n := 1; sc.Scan() && len(out) < max; n++ {
		if line := sc.Bytes(); hasField(line, want) {
			out = append(out, Line{N: n, Text: decodeLine(line)})
		}
	}
	if err := sc.Err(); err != nil && err != bufio.ErrTooLong {
		return out, fmt.Errorf("bill lines %s: %w", bill.Path, err)
	}
	return out, nil
}

// openLines opens the bill's CSV text.
func openLines(bill payrecon.Bill) (io.Reader, func() error, error) {
	f, err := os.Open(bill.Path)
	if err != nil {
		return nil, nil, err
	}
	if bill.Format != payrecon.BillAlipayZip {
		return f, f.Close, nil
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	rc, err := alipay.BillZipDetail(f, st.Size())
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return rc, func() error { rc.Close(); return f.Close() }, nil
}

// hasField reports whether one of line's comma-separated fields, trimmed,
// is in want. Order numbers are ASCII, so GBK bytes compare as they are.
func hasField(line []byte, want map[string]bool) bool {
	for len(line) > 0 {
		field := line
		if i := bytes.IndexByte(line, ','); i >= 0 {
			field, line = line[:i], line[i+1:]
		} else {
			line = nil
		}
		if want[string(bytes.Trim(field, "`\"' \t\r"))] {
			return true
		}
	}
	return false
}

// decodeLine is line as UTF-8: as it is when valid UTF-8, else decoded
// from GBK (GB18030), as Alipay writes its bills.
func decodeLine(line []byte) string {
	line = bytes.TrimRight(line, "\r")
	if utf8.Valid(line) {
		return string(line)
	}
	if s, err := simplifiedchinese.GB18030.NewDecoder().Bytes(line); err == nil {
		return string(s)
	}
	return string(bytes.ToValidUTF8(line, []byte("\uFFFD")))
}

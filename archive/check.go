package archive

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/payrecon/payrecon"
)

// ErrForeignBill is returned when a bill imported by hand is not the
// account's bill of the day it is imported for: another provider's,
// another merchant's or app's, or another day's.
var ErrForeignBill = errors.New("bill refused")

// Expect is what a bill imported by hand must be.
type Expect struct {
	Account  string
	Provider payrecon.Provider
	Day      payrecon.Day
	// Merchant is the Alipay PID (seller_id: the bill's #账号 starts with
	// it) or the WeChat Pay mchid (每行的商户号); "" is not checked.
	Merchant string
	// AppIDs are the account's WeChat Pay apps (公众账号ID); none: not
	// checked.
	AppIDs []string
}

// CheckImport reads file as [Bills.Import] would and returns an error
// wrapping [ErrForeignBill] when it is another provider's bill, another
// merchant's or app's, or has a row of another day than want.Day. It
// writes nothing (the inflated bill goes to a temp file, removed). A file
// that fails to parse for another reason passes: the import then archives
// it and records it rejected, as before.
func (b *Bills) CheckImport(file string, want Expect) error {
	in, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("import bill: %w", err)
	}
	defer in.Close()
	src, format, err := b.importSource(in, want.Provider)
	if err != nil {
		return fmt.Errorf("import bill: %w", err)
	}
	br := bufio.NewReader(src)
	if other := sniffProvider(br); other != "" && other != want.Provider {
		return fmt.Errorf("%w: %s is a %s bill, account %s is %s; nothing was archived", ErrForeignBill, file, other, want.Account, want.Provider)
	}
	tmp, err := os.CreateTemp("", "payrecon-import-check-*")
	if err != nil {
		return fmt.Errorf("import bill: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if _, err := io.Copy(tmp, br); err != nil {
		return fmt.Errorf("import bill: %w", err)
	}
	_, err = ParseFile(tmp.Name(), format, func(e payrecon.BillEntry) error { return want.check(e) })
	if errors.Is(err, ErrForeignBill) {
		return fmt.Errorf("%w; nothing was archived", err)
	}
	return nil
}

// check refuses a row of another day, merchant or app.
func (want Expect) check(e payrecon.BillEntry) error {
	if d := payrecon.DayOf(e.At); d != want.Day {
		return fmt.Errorf("%w: its rows are for %s, not -date %s (line %d)", ErrForeignBill, d, want.Day, e.Line)
	}
	if m := e.Merchant; want.Merchant != "" && m != "" && !merchantIs(want.Provider, m, want.Merchant) {
		return fmt.Errorf("%w: it is the bill of merchant %s, account %s is merchant %s (line %d)", ErrForeignBill, m, want.Account, want.Merchant, e.Line)
	}
	if len(want.AppIDs) > 0 && e.AppID != "" && !slices.Contains(want.AppIDs, e.AppID) {
		return fmt.Errorf("%w: line %d is for app %s, not one of account %s's apps (%s)", ErrForeignBill, e.Line, e.AppID, want.Account, strings.Join(want.AppIDs, ", "))
	}
	return nil
}

// merchantIs reports whether the bill's merchant is the account's: the
// Alipay account number is the PID followed by four digits.
func merchantIs(p payrecon.Provider, billMerchant, merchant string) bool {
	if p == payrecon.Alipay {
		return strings.HasPrefix(billMerchant, merchant)
	}
	return billMerchant == merchant
}

// alipayTitle is "#支付宝" in GBK, how an Alipay detail CSV begins.
var alipayTitle = []byte{'#', 0xd6, 0xa7, 0xb8, 0xb6, 0xb1, 0xa6}

// sniffProvider says whose bill the first bytes look like ("" when
// unsure): Alipay's ZIP or GBK CSV, or WeChat Pay's CSV header.
func sniffProvider(br *bufio.Reader) payrecon.Provider {
	head, _ := br.Peek(64)
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, alipayTitle), bytes.HasPrefix(head, []byte("#支付宝")):
		return payrecon.Alipay
	case bytes.HasPrefix(head, []byte("交易时间,")):
		return payrecon.WeChatPay
	}
	return ""
}

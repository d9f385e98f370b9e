package archive_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/archive"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/provider/sandbox/sandboxtest"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// TestFindLines: the raw lines of a trade in an archived bill (Alipay's
// GBK ZIP, WeChat Pay's CSV) are the lines the parser read its rows from,
// decoded to UTF-8; a key matches whole fields only.
func TestFindLines(t *testing.T) {
	fx := sandboxtest.New(t)
	d := fx.GenerateDay(day.Start(), sandbox.DayOptions{Trades: 40, Seed: 7})
	for _, p := range []payrecon.Provider{payrecon.Alipay, payrecon.WeChatPay} {
		t.Run(string(p), func(t *testing.T) {
			var tr *sandbox.Trade
			for _, x := range d.Trades {
				if x.Provider == p && !x.PaidAt.IsZero() && len(x.Refunds) > 0 {
					tr = x
					break
				}
			}
			if tr == nil {
				t.Fatal("no refunded trade")
			}
			var b bytes.Buffer
			var err error
			if p == payrecon.Alipay {
				err = sandbox.WriteAlipayBill(&b, fx.ID.Alipay.SellerID, day.Start(), d.BillRows(p), sandbox.BillOptions{})
			} else {
				err = sandbox.WriteWeChatBill(&b, fx.ID.WeChat.MchID, fx.ID.WeChat.AppID, d.BillRows(p), sandbox.BillOptions{})
			}
			if err != nil {
				t.Fatal(err)
			}
			src := filepath.Join(t.TempDir(), "bill")
			os.WriteFile(src, b.Bytes(), 0o600)
			bills := &archive.Bills{Dir: t.TempDir(), Ledger: storetest.MustOpen(t, store.Options{}), Now: time.Now}
			bill, err := bills.Import(t.Context(), "acct", p, day, src, nil)
			if err != nil {
				t.Fatal(err)
			}
			var want []int // the lines the parser read this trade's rows from
			if _, err := archive.Parse(bill, func(e payrecon.BillEntry) error {
				if e.OutTradeNo == tr.OutTradeNo {
					want = append(want, e.Line)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			lines, err := archive.FindLines(bill, []string{tr.OutTradeNo, ""}, 10)
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, l := range lines {
				got = append(got, l.N)
				if !strings.Contains(l.Text, tr.OutTradeNo) || !strings.Contains(l.Text, tr.ProviderTradeNo) {
					t.Errorf("line %d lacks the trade's numbers: %q", l.N, l.Text)
				}
			}
			if len(want) < 2 || !slices.Equal(got, want) {
				t.Fatalf("lines %v, want the parser's %v (payment and refunds)", got, want)
			}
			if p == payrecon.Alipay && !strings.Contains(lines[0].Text, "交易") {
				t.Errorf("Alipay line not decoded from GBK: %q", lines[0].Text)
			}
			refund, err := archive.FindLines(bill, []string{tr.Refunds[0].OutRefundNo}, 10)
			if err != nil || len(refund) != 1 || refund[0].N == want[0] {
				t.Fatalf("refund %s: %+v, %v; want its one line", tr.Refunds[0].OutRefundNo, refund, err)
			}
			if part, _ := archive.FindLines(bill, []string{tr.OutTradeNo[:len(tr.OutTradeNo)-1]}, 10); len(part) != 0 {
				t.Fatalf("a prefix of the order number matched %d lines", len(part))
			}
			if few, _ := archive.FindLines(bill, []string{tr.OutTradeNo}, 1); len(few) != 1 {
				t.Fatalf("max 1: %d lines", len(few))
			}
		})
	}
}

// FuzzFindLines: any bytes as a bill file give lines or an error, never a
// panic; every line is valid UTF-8 and, for an ASCII key (order numbers
// are), holds the key.
func FuzzFindLines(f *testing.F) {
	f.Add([]byte("`A1,`P1,`x\n中文,A1\r\n"), "A1")
	f.Add([]byte{0xb9, 0xfa, ',', 'K', '\n'}, "K")
	f.Fuzz(func(t *testing.T, content []byte, key string) {
		path := filepath.Join(t.TempDir(), "bill.csv")
		os.WriteFile(path, content, 0o600)
		lines, err := archive.FindLines(payrecon.Bill{Path: path, Format: payrecon.BillWeChatCSV}, []string{key}, 5)
		if err != nil {
			return
		}
		ascii := !strings.ContainsFunc(key, func(r rune) bool { return r >= utf8.RuneSelf || r == utf8.RuneError })
		for _, l := range lines {
			if !utf8.ValidString(l.Text) || (ascii && !strings.Contains(l.Text, strings.Trim(key, "`\"' \t\r"))) {
				t.Fatalf("line %q found for key %q", l.Text, key)
			}
		}
	})
}

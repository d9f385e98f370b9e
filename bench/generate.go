package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/archive"
	"github.com/payrecon/payrecon/provider"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/store"
)

// day is the bench day every generated row falls on.
var day = time.Date(2026, 11, 20, 0, 0, 0, 0, payrecon.ShanghaiFixed)

// benchAccount is one generated merchant account: its bill and its share of
// the ledger.
type benchAccount struct {
	name     string // account name in the ledger
	provider payrecon.Provider
	label    string // provider column of the table
	prefix   string // of every out_trade_no
	format   payrecon.BillFormat
	ext      string // of the bill file
}

var accounts = []benchAccount{
	{name: "bench-ali", provider: payrecon.Alipay, label: "alipay", prefix: "A", format: provider.AlipayZip, ext: ".csv.zip"},
	{name: "bench-wx", provider: payrecon.WeChatPay, label: "wechatpay", prefix: "W", format: provider.WeChatCSV, ext: ".csv"},
}

// The faults the generator injects, by payment index i: the bill has a
// refund for every 20th payment; the ledger lacks 1% of the payments
// (dropped callbacks), holds 0.4% with another amount, and has 0.5% extra
// trades the bill lacks.
func refunded(i int) bool        { return i%20 == 7 }
func droppedCallback(i int) bool { return i%100 == 1 }
func otherAmount(i int) bool     { return i%250 == 3 }
func extraTrades(n int) int      { return n / 200 }

// billRows yields n payments (and a refund for every 20th) spread over the
// bench day, in the sandbox's bill row shape.
func billRows(prefix string, n int) iter.Seq[sandbox.BillRow] {
	return func(yield func(sandbox.BillRow) bool) {
		for i := range n {
			at := day.Add(time.Duration(int64(i)*86399/int64(n)) * time.Second)
			r := sandbox.BillRow{Kind: payrecon.EntryPayment, OutTradeNo: fmt.Sprintf("%s%08d", prefix, i), ProviderTradeNo: fmt.Sprintf("4200%s%020d", prefix, i),
				AmountFen: payrecon.Fen(100 + i%50000), Created: at.Add(-time.Minute), At: at}
			if !yield(r) {
				return
			}
			if refunded(i) {
				rf := r
				rf.Kind, rf.OutRefundNo, rf.ProviderRefundNo, rf.AmountFen = payrecon.EntryRefund, r.OutTradeNo+"-R", "5030"+r.OutTradeNo, r.AmountFen/2
				if !yield(rf) {
					return
				}
			}
		}
	}
}

// ledgerTrades yields the ledger's trades for n bill payments: every
// payment but the dropped callbacks, some with another amount, then the
// extra trades.
func ledgerTrades(prefix string, n int) iter.Seq[store.SeedTrade] {
	return func(yield func(store.SeedTrade) bool) {
		i := -1 // payment index
		for r := range billRows(prefix, n) {
			if r.Kind != payrecon.EntryPayment {
				continue
			}
			i++
			if droppedCallback(i) {
				continue
			}
			amt := r.AmountFen
			if otherAmount(i) {
				amt++
			}
			if !yield(store.SeedTrade{OutTradeNo: r.OutTradeNo, ProviderTradeNo: r.ProviderTradeNo, AmountFen: amt, PaidAt: r.At}) {
				return
			}
		}
		for i := range extraTrades(n) {
			if !yield(store.SeedTrade{OutTradeNo: fmt.Sprintf("%sX%07d", prefix, i), ProviderTradeNo: fmt.Sprintf("9%s%020d", prefix, i),
				AmountFen: 500, PaidAt: day.Add(time.Hour)}) {
				return
			}
		}
	}
}

// ledgerRefunds yields every refund of the bill.
func ledgerRefunds(prefix string, n int) iter.Seq[store.SeedRefund] {
	return func(yield func(store.SeedRefund) bool) {
		for r := range billRows(prefix, n) {
			if r.Kind == payrecon.EntryRefund && !yield(store.SeedRefund{OutRefundNo: r.OutRefundNo, OutTradeNo: r.OutTradeNo, AmountFen: r.AmountFen, RefundedAt: r.At}) {
				return
			}
		}
	}
}

// generate writes each account's bill of n payments into dir and seeds
// dir/ledger.db with its ledger; it returns the bill paths by account.
func generate(ctx context.Context, dir string, n int) (map[string]string, error) {
	db, err := store.Open(ctx, filepath.Join(dir, "ledger.db"), store.Options{}, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	bills := map[string]string{}
	for _, a := range accounts {
		path := filepath.Join(dir, a.name+a.ext)
		if err := writeBill(path, a, n); err != nil {
			return nil, err
		}
		bills[a.name] = path
		if err := db.Seed(ctx, a.name, a.provider, ledgerTrades(a.prefix, n), ledgerRefunds(a.prefix, n)); err != nil {
			return nil, err
		}
	}
	return bills, nil
}

// writeBill writes a's bill of n payments in its provider's own format.
func writeBill(path string, a benchAccount, n int) error {
	_, err := archive.WriteFile(path, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		var err error
		if a.provider == payrecon.Alipay {
			err = sandbox.WriteAlipayBill(bw, "2088000000000001", day, billRows(a.prefix, n), sandbox.BillOptions{})
		} else {
			err = sandbox.WriteWeChatBill(bw, "1900000001", "wx01", billRows(a.prefix, n), sandbox.BillOptions{})
		}
		if err != nil {
			return err
		}
		return bw.Flush()
	})
	return err
}

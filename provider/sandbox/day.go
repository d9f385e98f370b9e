package sandbox

import (
	"bytes"
	"fmt"
	"iter"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/payrecon/payrecon"
)

// Trade is one trade of a sandbox business day, as the provider knows it.
type Trade struct {
	Provider        payrecon.Provider
	OutTradeNo      string
	ProviderTradeNo string
	AmountFen       payrecon.Fen
	Created         time.Time
	PaidAt          time.Time // zero: never paid (closed)
	Refunds         []Refund
	// AppID is the WeChat Pay app the trade was made in (empty: the
	// sandbox's appid); the bill row and the callbacks carry it.
	AppID string
	// DiscountFen is the part of AmountFen the merchant bears as a coupon
	// (WeChat Pay 免充值券, Alipay 商家优惠); ProviderDiscountFen a discount
	// the provider funds (WeChat Pay 充值券, Alipay 支付宝红包). The bill
	// shows both; the merchant settles AmountFen − DiscountFen.
	DiscountFen, ProviderDiscountFen payrecon.Fen
	// Currency is the trade's currency (empty: CNY). A USD trade is written
	// so on the WeChat Pay bill (货币种类) and in both providers' query
	// answers (amount.currency, trans_currency).
	Currency string

	// Notification faults (what the merchant is told, not what happened).
	DropNotify      bool          // the payment callback never arrives
	DelayNotify     bool          // the payment callback arrives late: after the day's reconciliation (see LateDeliveries)
	DuplicateNotify bool          // the callback arrives twice
	TamperNotify    bool          // the callback arrives with a changed amount (rejected)
	NotifyAmount    payrecon.Fen  // a validly signed callback with another amount (0: the real amount)
	NotifyShift     time.Duration // the callback states a payment time shifted by this
}

// FullyRefunded reports whether the trade's refunds add up to its amount.
func (t *Trade) FullyRefunded() bool {
	var total payrecon.Fen
	for _, r := range t.Refunds {
		total += r.AmountFen
	}
	return !t.PaidAt.IsZero() && len(t.Refunds) > 0 && total >= t.AmountFen
}

// refundDiscount is the part of a refund the merchant's coupon covered:
// the coupon's share of the refund, so the merchant pays back only what
// it was paid.
func (t *Trade) refundDiscount(r Refund) payrecon.Fen {
	if t.AmountFen <= 0 {
		return 0
	}
	return r.AmountFen * t.DiscountFen / t.AmountFen
}

// Refund is one refund of a sandbox trade.
type Refund struct {
	OutRefundNo      string
	ProviderRefundNo string
	AmountFen        payrecon.Fen
	At               time.Time
	DropNotify       bool
}

// Day is a generated business day for both sandbox accounts: the trades the
// providers know, which notifications payrecon will get, and the faults.
type Day struct {
	Date   time.Time // midnight, Beijing time
	Trades []*Trade
	// Ghosts are validly signed notifications for trades the provider does
	// not have (a leaked key, a bug upstream): they reach the ledger and
	// the reconciliation must flag them CONFIRMED_ABSENT.
	Ghosts []*Trade
	// Forged are notifications signed with the wrong key: rejected.
	Forged []*Trade
	// Transfers are Alipay outgoing transfers the provider knows.
	Transfers []Transfer
}

// Transfer is an Alipay outgoing transfer (alipay.fund.trans.uni.transfer).
type Transfer struct {
	OutBizNo  string
	OrderID   string
	AmountFen payrecon.Fen
	Status    string
	PaidAt    time.Time
}

// minFaultTrades is the smallest day the standard fault set fits in.
const minFaultTrades = 20

// DayOptions shape a generated day.
type DayOptions struct {
	Trades int   // per provider (default 40; at least 20 with Faults)
	Seed   int64 // deterministic generation
	// Faults turns on the standard fault set: dropped, duplicated and
	// tampered callbacks, a forged and a ghost notification, an amount
	// mismatch, a dropped refund callback, and trades across midnight.
	Faults bool
	// AppIDs spreads the WeChat Pay trades over these apps in turn, as one
	// merchant number serving a mini-program, an official account and an
	// app sees them (default: all in the sandbox's appid). It draws no
	// random numbers, so a seed's day is otherwise unchanged.
	AppIDs []string
}

// GenerateDay builds a day for date (any instant of it, Beijing time).
func (s *Sandbox) GenerateDay(date time.Time, opt DayOptions) *Day {
	if opt.Trades <= 0 {
		opt.Trades = 40
	}
	if opt.Faults && opt.Trades < minFaultTrades {
		opt.Trades = minFaultTrades // the fault set needs that many trades to pick from
	}
	rng := rand.New(rand.NewPCG(uint64(opt.Seed), 7))
	y, m, d := date.In(payrecon.ShanghaiFixed).Date()
	day := &Day{Date: time.Date(y, m, d, 0, 0, 0, 0, payrecon.ShanghaiFixed)}
	tag := day.Date.Format("20060102")
	for _, p := range []payrecon.Provider{payrecon.Alipay, payrecon.WeChatPay} {
		prefix := "A"
		if p == payrecon.WeChatPay {
			prefix = "W"
		}
		for i := range opt.Trades {
			paid := day.Date.Add(time.Duration(8*3600+rng.IntN(14*3600)) * time.Second)
			t := &Trade{Provider: p, OutTradeNo: fmt.Sprintf("%s%s%04d", prefix, tag, i), AmountFen: payrecon.Fen(100 + rng.IntN(50000)),
				PaidAt: paid, Created: paid.Add(-time.Duration(5+rng.IntN(60)) * time.Second)}
			if p == payrecon.Alipay {
				t.ProviderTradeNo = fmt.Sprintf("%s22001%019d", tag, rng.Uint64()%1e18)
			} else {
				t.ProviderTradeNo = fmt.Sprintf("4200%s%016d", tag, rng.Uint64()%1e16)
				if len(opt.AppIDs) > 0 {
					t.AppID = opt.AppIDs[i%len(opt.AppIDs)]
				}
			}
			switch { // discounts, drawing no random numbers (a seed's day is otherwise unchanged)
			case i%6 == 2: // a merchant's coupon of a tenth
				t.DiscountFen = t.AmountFen / 10
			case i%10 == 7: // a provider-funded red packet
				t.ProviderDiscountFen = min(t.AmountFen/20, 500)
			}
			if i%9 == 4 { // a partial refund an hour later
				t.Refunds = append(t.Refunds, Refund{OutRefundNo: t.OutTradeNo + "-R1", ProviderRefundNo: fmt.Sprintf("5030%s%012d", tag, i),
					AmountFen: t.AmountFen / 3, At: paid.Add(time.Hour)})
			}
			day.Trades = append(day.Trades, t)
		}
		if !opt.Faults {
			continue
		}
		if p == payrecon.Alipay {
			day.Transfers = append(day.Transfers, Transfer{OutBizNo: "T" + tag + "0001", OrderID: "2026" + tag + "0001", AmountFen: 12000,
				Status: "SUCCESS", PaidAt: day.Date.Add(11 * time.Hour)})
		}
		pick := func(i int) *Trade { return day.Trades[len(day.Trades)-opt.Trades+i] }
		pick(1).DropNotify = true
		pick(2).DropNotify = true
		pick(3).DuplicateNotify = true
		pick(5).TamperNotify = true
		pick(6).NotifyAmount = pick(6).AmountFen + 100
		pick(8).DelayNotify = true
		r := pick(13) // i%9==4: has a refund
		r.Refunds[0].DropNotify = true
		// Paid at 00:00:01 per the provider; the callback says 23:59:59
		// the day before.
		mid := pick(7)
		mid.PaidAt = day.Date.Add(time.Second)
		mid.Created = mid.PaidAt.Add(-10 * time.Second)
		mid.NotifyShift = -2 * time.Second
		ghost := &Trade{Provider: p, OutTradeNo: fmt.Sprintf("%sGHOST%s", prefix, tag), ProviderTradeNo: fmt.Sprintf("%s99%s", prefix, tag),
			AmountFen: 6666, PaidAt: day.Date.Add(15 * time.Hour)}
		ghost.Created = ghost.PaidAt.Add(-time.Minute)
		day.Ghosts = append(day.Ghosts, ghost)
		forged := &Trade{Provider: p, OutTradeNo: fmt.Sprintf("%sFORGED%s", prefix, tag), ProviderTradeNo: fmt.Sprintf("%s98%s", prefix, tag),
			AmountFen: 99999, PaidAt: day.Date.Add(16 * time.Hour)}
		forged.Created = forged.PaidAt.Add(-time.Minute)
		day.Forged = append(day.Forged, forged)
	}
	return day
}

// Find returns the provider's trade by merchant order number.
func (d *Day) Find(p payrecon.Provider, outTradeNo string) *Trade {
	for _, t := range d.Trades {
		if t.Provider == p && (t.OutTradeNo == outTradeNo || t.ProviderTradeNo == outTradeNo) {
			return t
		}
	}
	return nil
}

// BillRows yields the provider's bill rows for the day: payments completed
// and refunds made on it, in time order.
func (d *Day) BillRows(p payrecon.Provider) iter.Seq[BillRow] {
	var rows []BillRow
	next := d.Date.AddDate(0, 0, 1)
	on := func(t time.Time) bool { return !t.Before(d.Date) && t.Before(next) }
	for _, t := range d.Trades {
		if t.Provider != p {
			continue
		}
		if on(t.PaidAt) {
			rows = append(rows, BillRow{Kind: payrecon.EntryPayment, OutTradeNo: t.OutTradeNo, ProviderTradeNo: t.ProviderTradeNo,
				AmountFen: t.AmountFen, Created: t.Created, At: t.PaidAt, AppID: t.AppID,
				DiscountFen: t.DiscountFen, ProviderDiscountFen: t.ProviderDiscountFen, Currency: t.Currency})
		}
		for _, r := range t.Refunds {
			if on(r.At) {
				rows = append(rows, BillRow{Kind: payrecon.EntryRefund, OutTradeNo: t.OutTradeNo, ProviderTradeNo: t.ProviderTradeNo,
					OutRefundNo: r.OutRefundNo, ProviderRefundNo: r.ProviderRefundNo, AmountFen: r.AmountFen, Created: t.Created, At: r.At, AppID: t.AppID,
					DiscountFen: t.refundDiscount(r), Currency: t.Currency})
			}
		}
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].At.Before(rows[j].At) })
	return func(yield func(BillRow) bool) {
		for _, r := range rows {
			if !yield(r) {
				return
			}
		}
	}
}

// Deliveries returns the notifications the providers send payrecon for the
// day, with the day's faults applied: dropped callbacks are absent,
// duplicated ones appear twice, tampered and forged ones must be rejected,
// ghosts are validly signed for trades the provider does not have.
func (s *Sandbox) Deliveries(d *Day) ([]Delivery, error) {
	var out []Delivery
	add := func(dl Delivery, err error) error {
		if err != nil {
			return err
		}
		out = append(out, dl)
		return nil
	}
	payment := func(t *Trade, amount payrecon.Fen, opt AlipayOptions, wopt WeChatV3Options) (Delivery, error) {
		paid := t.PaidAt.Add(t.NotifyShift)
		if t.Provider == payrecon.Alipay {
			return s.ali("TRADE_SUCCESS "+t.OutTradeNo, AlipayTrade{OutTradeNo: t.OutTradeNo, TradeNo: t.ProviderTradeNo, Amount: amount,
				Status: "TRADE_SUCCESS", Created: t.Created, Paid: paid}, opt)
		}
		return s.wxPay("TRANSACTION.SUCCESS "+t.OutTradeNo, WeChatTransaction{OutTradeNo: t.OutTradeNo, TransactionID: t.ProviderTradeNo,
			Amount: amount, Paid: paid, AppID: t.AppID, Currency: t.Currency}, wopt)
	}
	for _, t := range d.Trades {
		if t.PaidAt.IsZero() || t.DelayNotify {
			continue
		}
		amount := t.AmountFen
		if t.NotifyAmount != 0 {
			amount = t.NotifyAmount
		}
		switch {
		case t.DropNotify:
		case t.TamperNotify:
			dl, err := payment(t, amount, AlipayOptions{}, WeChatV3Options{})
			if err != nil {
				return nil, err
			}
			if t.Provider == payrecon.Alipay {
				dl.Body = bytes.Replace(dl.Body, []byte("total_amount="+amount.Yuan()), []byte("total_amount="+(amount+1).Yuan()), 1)
			} else {
				dl.Body = bytes.Replace(dl.Body, []byte(`"summary":"`), []byte(`"summary":"!`), 1)
			}
			out = append(out, reject(dl, "bad_signature"))
		default:
			dl, err := payment(t, amount, AlipayOptions{}, WeChatV3Options{})
			if err != nil {
				return nil, err
			}
			out = append(out, dl)
			if t.DuplicateNotify {
				out = append(out, dl)
			}
		}
		var total payrecon.Fen
		for _, r := range t.Refunds {
			total += r.AmountFen
			if r.DropNotify {
				continue
			}
			var err error
			if t.Provider == payrecon.Alipay {
				status := "TRADE_SUCCESS" // a partial refund keeps the status; the full refund closes the trade
				if total >= t.AmountFen {
					status = "TRADE_CLOSED"
				}
				err = add(s.ali("refund "+r.OutRefundNo, AlipayTrade{OutTradeNo: t.OutTradeNo, TradeNo: t.ProviderTradeNo, Amount: t.AmountFen,
					Status: status, Created: t.Created, Paid: t.PaidAt, RefundTotal: total, OutBizNo: r.OutRefundNo, Refunded: r.At}, AlipayOptions{}))
			} else {
				err = add(s.wxRefund("REFUND.SUCCESS "+r.OutRefundNo, WeChatRefund{OutTradeNo: t.OutTradeNo, TransactionID: t.ProviderTradeNo,
					OutRefundNo: r.OutRefundNo, RefundID: r.ProviderRefundNo, Total: t.AmountFen, Refund: r.AmountFen, Status: "SUCCESS", At: r.At}, WeChatV3Options{}))
			}
			if err != nil {
				return nil, err
			}
		}
	}
	for _, g := range d.Ghosts {
		if err := add(payment(g, g.AmountFen, AlipayOptions{}, WeChatV3Options{})); err != nil {
			return nil, err
		}
	}
	if len(d.Forged) > 0 {
		k, err := otherKey()
		if err != nil {
			return nil, err
		}
		for _, f := range d.Forged {
			dl, err := payment(f, f.AmountFen, AlipayOptions{Key: k}, WeChatV3Options{Key: k})
			if err != nil {
				return nil, err
			}
			out = append(out, reject(dl, "bad_signature"))
		}
	}
	return out, nil
}

// LateDeliveries returns the callbacks of the day that arrive late (after
// the day's reconciliation has already recovered them by querying).
func (s *Sandbox) LateDeliveries(d *Day) ([]Delivery, error) {
	var out []Delivery
	for _, t := range d.Trades {
		if !t.DelayNotify {
			continue
		}
		var dl Delivery
		var err error
		if t.Provider == payrecon.Alipay {
			dl, err = s.ali("late TRADE_SUCCESS "+t.OutTradeNo, AlipayTrade{OutTradeNo: t.OutTradeNo, TradeNo: t.ProviderTradeNo, Amount: t.AmountFen,
				Status: "TRADE_SUCCESS", Created: t.Created, Paid: t.PaidAt}, AlipayOptions{})
		} else {
			dl, err = s.wxPay("late TRANSACTION.SUCCESS "+t.OutTradeNo, WeChatTransaction{OutTradeNo: t.OutTradeNo, TransactionID: t.ProviderTradeNo,
				Amount: t.AmountFen, Paid: t.PaidAt, AppID: t.AppID}, WeChatV3Options{})
		}
		if err != nil {
			return nil, err
		}
		out = append(out, dl)
	}
	return out, nil
}

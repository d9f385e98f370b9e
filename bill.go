package payrecon

import (
	"fmt"
	"time"
)

// EntryKind says whether a bill row is a payment or a refund.
type EntryKind string

// The kinds of bill row.
const (
	EntryPayment EntryKind = "payment"
	EntryRefund  EntryKind = "refund"
)

// BillEntry is one row of a provider's daily bill, normalised: amounts are
// positive fen whatever sign the file uses, times are UTC.
type BillEntry struct {
	Kind             EntryKind
	OutTradeNo       string
	ProviderTradeNo  string
	OutRefundNo      string // refunds only
	ProviderRefundNo string // refunds only
	// AmountFen is the order amount of a payment, or the amount of a refund.
	AmountFen Fen
	// FeeE5 is the provider's fee in units of 0.00001 yuan (WeChat Pay
	// states fees with five decimals); negative when a refund returns it.
	FeeE5 int64
	// Status is the provider's own status text for the row (WeChat Pay
	// 交易状态 or 退款状态; Alipay 业务类型).
	Status string
	// At is when the payment completed or the refund was made.
	At time.Time
	// Line is the row's line number in the file, for provenance.
	Line int
	// AppID is the app the trade was made in, where the bill says
	// (WeChat Pay 公众账号ID: one merchant number serves several apps);
	// empty for Alipay.
	AppID string
	// DiscountFen is the part of AmountFen the merchant bears as a
	// discount and never receives, positive fen: WeChat Pay 订单金额 −
	// 应结订单金额 (免充值券), on a refund row 申请退款金额 − 退款金额;
	// Alipay 订单金额 − 商家实收 (商家优惠 and the like). See [BillEntry.SettleFen].
	DiscountFen Fen
	// ProviderDiscountFen are discounts the provider funds, which the
	// merchant is paid as if the buyer had paid them: WeChat Pay 充值券
	// (代金券金额 − DiscountFen), Alipay 支付宝红包 + 集分宝 + 支付宝优惠.
	// Shown, not part of any identity.
	ProviderDiscountFen Fen
	// FeeRatePPM is the row's own fee rate (WeChat Pay 费率) in parts per
	// million (0.60% = 6000); HasFeeRate says whether the row states one.
	FeeRatePPM int64
	HasFeeRate bool
	// Currency is the row's currency as the bill states it (WeChat Pay
	// 货币种类); empty when the bill has no such column (Alipay's trade
	// bill, which is CNY).
	Currency string
}

// SettleFen is what the row settles to the merchant before fees: the
// order (or refund) amount less the discount the merchant bears (WeChat
// Pay 应结订单金额 / 退款金额, Alipay 商家实收).
func (e BillEntry) SettleFen() Fen { return e.AmountFen - e.DiscountFen }

// ForeignCurrency reports whether the row states a currency other than
// CNY: its amounts are not fen and must never be compared as such.
func (e BillEntry) ForeignCurrency() bool { return IsForeignCurrency(e.Currency) }

// IsForeignCurrency reports whether a stated currency is not CNY (an
// empty one is not stated, and taken as CNY).
func IsForeignCurrency(c string) bool { return c != "" && c != "CNY" }

// BillTotals are counts and sums over a bill's rows, as the parser counted
// them and as the file's own footer states them.
type BillTotals struct {
	Payments   int
	Refunds    int
	PaymentFen Fen
	RefundFen  Fen
	FeeE5      int64
}

// TotalsMismatchError reports a bill whose own footer or summary disagrees
// with its rows. Such a bill must not be reconciled.
type TotalsMismatchError struct {
	Field   string
	Stated  string
	Counted string
}

func (e *TotalsMismatchError) Error() string {
	return fmt.Sprintf("bill totals do not match its rows: %s states %s, rows add up to %s", e.Field, e.Stated, e.Counted)
}

// BillFormat names how an archived bill file is encoded.
type BillFormat string

// The bill formats.
const (
	BillAlipayZip BillFormat = "alipay-zip" // ZIP of GBK CSVs, as downloaded
	BillAlipayCSV BillFormat = "alipay-csv" // the detail CSV on its own, imported by hand
	BillWeChatCSV BillFormat = "wechat-csv" // UTF-8 backtick CSV
	BillNone      BillFormat = "none"       // the provider has no bill: no business that day
)

// Bill is an archived bill file of an (account, day).
type Bill struct {
	ID      int64
	Account string
	Day     Day
	Format  BillFormat
	// Path is the archived file ("" for an empty day).
	Path      string
	SHA256    string
	Size      int64
	Origin    string // download or import
	FetchedAt time.Time
	// Rejected says why the file failed to parse or failed its checks; a
	// rejected bill is archived but is never a day's bill.
	Rejected string
}

// Empty reports whether the bill stands for a day without business.
func (b Bill) Empty() bool { return b.Path == "" }

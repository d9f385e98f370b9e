// Package payrecon holds the domain vocabulary shared by every part of
// payrecon: money in integer fen, providers, trades, refunds, transfers and
// the events that notifications, queries and bills apply to the ledger.
//
// It lives at the module root, and imports no package of this module, so that
// every adapter (store, provider/alipay, provider/wechatpay, notify, reconcile,
// reports, jobs) can speak the same types without import cycles. This is the
// "domain at the root, one adapter package per dependency" layout of
// benbjohnson/wtf. Nothing here does I/O.
package payrecon

import (
	"fmt"
	"time"
)

// Provider names a payment provider.
type Provider string

// The providers payrecon speaks.
const (
	Alipay    Provider = "alipay"
	WeChatPay Provider = "wechatpay"
)

// Validate reports whether p is a known provider.
func (p Provider) Validate() error {
	switch p {
	case Alipay, WeChatPay:
		return nil
	}
	return fmt.Errorf("unknown provider %q (want alipay or wechatpay)", string(p))
}

// Source names where the ledger learned a fact.
type Source string

// The sources of ledger facts.
const (
	SourceNotify Source = "notify" // an asynchronous notification
	SourceQuery  Source = "query"  // an active query to the provider
	SourceBill   Source = "bill"   // the provider's daily bill
)

// DefaultTimezone is the zone in which providers state local times and in
// which payrecon shows them unless configured otherwise.
const DefaultTimezone = "Asia/Shanghai"

// ShanghaiFixed is UTC+8 without a tz database lookup. Providers state their
// local times in Beijing time, which has had no DST since 1991, so parsing
// provider timestamps with this zone is exact and needs no tzdata on the host.
var ShanghaiFixed = time.FixedZone("CST", 8*3600)

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

// ParseBeijingTime parses the providers' "2006-01-02 15:04:05" Beijing time
// and returns it in UTC. It is the hot path of bill parsing, so the exact
// 19-byte form is read digit by digit; anything else goes through
// time.ParseInLocation.
func ParseBeijingTime(s string) (time.Time, error) {
	return parseBeijingTime(s)
}

// ParseBeijingTimeBytes is [ParseBeijingTime] on a field still in its
// read buffer.
func ParseBeijingTimeBytes(b []byte) (time.Time, error) {
	return parseBeijingTime(b)
}

func parseBeijingTime[T ~string | ~[]byte](s T) (time.Time, error) {
	if len(s) == 19 && s[4] == '-' && s[7] == '-' && s[10] == ' ' && s[13] == ':' && s[16] == ':' {
		num := func(a, b int) int {
			n := 0
			for i := a; i < b; i++ {
				c := s[i]
				if c < '0' || c > '9' {
					return -1
				}
				n = n*10 + int(c-'0')
			}
			return n
		}
		y, mo, d, h, mi, se := num(0, 4), num(5, 7), num(8, 10), num(11, 13), num(14, 16), num(17, 19)
		if y >= 0 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h >= 0 && h < 24 && mi >= 0 && mi < 60 && se >= 0 && se < 60 {
			t := time.Date(y, time.Month(mo), d, h, mi, se, 0, ShanghaiFixed)
			if t.Day() == d { // rejects 2026-02-30
				return t.UTC(), nil
			}
		}
	}
	t, err := time.ParseInLocation("2006-01-02 15:04:05", string(s), ShanghaiFixed)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: %w", s, ErrMalformed)
	}
	return t.UTC(), nil
}

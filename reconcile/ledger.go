package reconcile

import (
	"bytes"
	"hash/maphash"
	"time"

	"github.com/payrecon/payrecon"
)

// tradeTable holds a window's ledger trades for the diff without a
// pointer per trade: their numbers in one byte arena, their times as
// numbers, and an open-addressing index by provider trade number. A
// million trades take about 90 MB that the garbage collector never has
// to scan, instead of about 200 MB of strings, times and map entries it
// scans on every cycle while the bill streams through.
type tradeTable struct {
	recs     []tradeRec
	arena    []byte // each trade's provider trade no, then its out trade no
	statuses []payrecon.TradeStatus
	locs     []*time.Location
	index    []int32 // slot -> trade index + 1 (0: empty), by provider trade no
	seed     maphash.Seed
}

// tradeRec is one trade: where its numbers are in the arena and its
// values.
type tradeRec struct {
	amount          payrecon.Fen
	sec             int64 // PaidAt, Unix seconds
	nsec            int32
	off, pLen, oLen uint32
	status, loc     uint8
	paid            bool // PaidAt is not the zero time
}

// newTradeTable lays trades out; a provider trade number held by several
// trades finds the last of them, as a map assigned in order would.
func newTradeTable(trades []LedgerTrade) *tradeTable {
	t := &tradeTable{recs: make([]tradeRec, len(trades)), seed: maphash.MakeSeed()}
	size := 0
	for _, tr := range trades {
		size += len(tr.ProviderTradeNo) + len(tr.OutTradeNo)
	}
	t.arena = make([]byte, 0, size)
	slots := 16
	for slots < 2*len(trades) {
		slots *= 2
	}
	t.index = make([]int32, slots)
	for i, tr := range trades {
		r := tradeRec{amount: tr.AmountFen, off: uint32(len(t.arena)), pLen: uint32(len(tr.ProviderTradeNo)), oLen: uint32(len(tr.OutTradeNo)),
			status: t.statusIndex(tr.Status)}
		t.arena = append(append(t.arena, tr.ProviderTradeNo...), tr.OutTradeNo...)
		if !tr.PaidAt.IsZero() {
			r.paid, r.sec, r.nsec, r.loc = true, tr.PaidAt.Unix(), int32(tr.PaidAt.Nanosecond()), t.locIndex(tr.PaidAt.Location())
		}
		t.recs[i] = r
		if tr.ProviderTradeNo != "" {
			t.index[t.slot(tr.ProviderTradeNo)] = int32(i) + 1
		}
	}
	return t
}

func (t *tradeTable) statusIndex(s payrecon.TradeStatus) uint8 {
	for i, x := range t.statuses {
		if x == s {
			return uint8(i)
		}
	}
	if len(t.statuses) == 255 { // never in practice: five statuses exist
		panic("reconcile: more than 255 distinct trade statuses")
	}
	t.statuses = append(t.statuses, s)
	return uint8(len(t.statuses) - 1)
}

func (t *tradeTable) locIndex(l *time.Location) uint8 {
	for i, x := range t.locs {
		if x == l {
			return uint8(i)
		}
	}
	if len(t.locs) == 255 {
		panic("reconcile: more than 255 distinct time locations")
	}
	t.locs = append(t.locs, l)
	return uint8(len(t.locs) - 1)
}

// slot is the index slot of provider trade number key: the one holding
// it, or the empty one where it goes.
func (t *tradeTable) slot(key string) int {
	mask := len(t.index) - 1
	for s := int(maphash.String(t.seed, key)) & mask; ; s = (s + 1) & mask {
		i := t.index[s]
		if i == 0 || string(t.provider(i-1)) == key {
			return s
		}
	}
}

// lookup finds the trade with provider trade number key.
func (t *tradeTable) lookup(key string) (int32, bool) {
	i := t.index[t.slot(key)]
	return i - 1, i != 0
}

func (t *tradeTable) provider(i int32) []byte {
	r := &t.recs[i]
	return t.arena[r.off : r.off+r.pLen]
}

func (t *tradeTable) outNo(i int32) []byte {
	r := &t.recs[i]
	return t.arena[r.off+r.pLen : r.off+r.pLen+r.oLen]
}

func (t *tradeTable) status(i int32) payrecon.TradeStatus { return t.statuses[t.recs[i].status] }

func (t *tradeTable) paidAt(i int32) time.Time {
	r := &t.recs[i]
	if !r.paid {
		return time.Time{}
	}
	return time.Unix(r.sec, int64(r.nsec)).In(t.locs[r.loc])
}

// trade is trade i as the caller gave it.
func (t *tradeTable) trade(i int32) LedgerTrade {
	return LedgerTrade{OutTradeNo: string(t.outNo(i)), ProviderTradeNo: string(t.provider(i)), Status: t.status(i),
		AmountFen: t.recs[i].amount, PaidAt: t.paidAt(i)}
}

func (t *tradeTable) len() int { return len(t.recs) }

// lessOutNo orders trades by out trade number.
func (t *tradeTable) lessOutNo(a, b int32) bool { return bytes.Compare(t.outNo(a), t.outNo(b)) < 0 }

package reconcile

import (
	"errors"

	"github.com/payrecon/payrecon"
)

// Ahead is how many bill rows [Pipeline] lets the bill's parser read
// before the diff takes them: enough to keep the parser busy while the
// ledger loads or a workbook row is written, small beside the ledger in
// memory.
const Ahead = 64 << 10

// pipeBatch is how many rows travel together from the parser to the diff.
const pipeBatch = 512

var errStopped = errors.New("reconcile: pipeline stopped")

// Pipeline diffs a day with its two sides read at the same time: parse
// reads the bill in its own goroutine, up to [Ahead] rows ahead, while
// load reads the ledger side in the caller's; each row is then classified
// in bill order as [Diff.Add] would, and emit is called from the caller's
// goroutine only. It returns what parse returns. When parse fails, the
// rows before the failure have been classified and Finish is not run
// (as with [New] and Add); when load fails, parse is stopped. adjacent
// is read only by Finish (see [Neighbours]).
func Pipeline(day payrecon.Day, opt Options, adjacent Neighbours,
	load func() ([]LedgerTrade, []LedgerRefund, error),
	parse func(fn func(payrecon.BillEntry) error) (payrecon.BillTotals, error),
	emit func(payrecon.Discrepancy)) (payrecon.BillTotals, error) {
	rows := make(chan []payrecon.BillEntry, Ahead/pipeBatch)
	free := make(chan []payrecon.BillEntry, Ahead/pipeBatch+2)
	stop := make(chan struct{})
	type parsed struct {
		tot payrecon.BillTotals
		err error
	}
	done := make(chan parsed, 1)
	go func() {
		defer close(rows)
		buf := make([]payrecon.BillEntry, 0, pipeBatch)
		send := func() error {
			select {
			case rows <- buf:
			case <-stop:
				return errStopped
			}
			select {
			case buf = <-free:
				buf = buf[:0]
			default:
				buf = make([]payrecon.BillEntry, 0, pipeBatch)
			}
			return nil
		}
		tot, err := parse(func(e payrecon.BillEntry) error {
			if buf = append(buf, e); len(buf) == pipeBatch {
				return send()
			}
			return nil
		})
		if len(buf) > 0 {
			if serr := send(); err == nil {
				err = serr
			}
		}
		done <- parsed{tot, err}
	}()
	trades, refunds, err := load()
	if err != nil {
		close(stop)
		for range rows { // let the parser see the stop and finish
		}
		<-done
		return payrecon.BillTotals{}, err
	}
	d := New(day, opt, trades, refunds, adjacent, emit)
	for b := range rows {
		for _, e := range b {
			d.Add(e)
		}
		clear(b)
		select {
		case free <- b:
		default:
		}
	}
	p := <-done
	if p.err != nil {
		return p.tot, p.err
	}
	return p.tot, d.Finish()
}

package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/store"
)

// testEventsCursorConcurrent: a reader paging through the outbox with the
// After cursor while many writers commit events concurrently ends up with
// every event exactly once, in seq order. On PostgreSQL, where writers
// commit in any order, this holds only if a page never shows an event
// while one with a lower seq is still to commit (the reader would move its
// cursor past that one and never see it).
func testEventsCursorConcurrent(t *testing.T, db Ledger) {
	const writers, perWriter = 16, 40
	syncApp(t, db)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	done := make(chan struct{})
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				out := fmt.Sprintf("c%d-%d", w, i)
				if _, err := db.RecordNotification(ctx, payrecon.RawNotification{Body: []byte(out), ReceivedAt: T0}, Pay("k"+out, out, 100)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()
	seen, err := followEvents(ctx, db, done, 20)
	if err != nil {
		t.Fatal(err)
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	all := Must(db.Events(t.Context(), store.EventFilter{}))
	if len(all) != writers*perWriter {
		t.Fatalf("%d events in the outbox, want %d", len(all), writers*perWriter)
	}
	var missed []int64
	for _, e := range all {
		if seen[e.Seq] != 1 {
			missed = append(missed, e.Seq)
		}
	}
	if len(missed) > 0 || len(seen) != len(all) {
		t.Fatalf("the cursor reader saw %d of %d events; missed seq %v", len(seen), len(all), missed)
	}
}

// followEvents pages through the outbox with the After cursor (limit per
// page) until done is closed and a page after that comes back empty; it
// returns how often it saw each seq, and fails on a page out of order.
func followEvents(ctx context.Context, db Ledger, done <-chan struct{}, limit int) (map[int64]int, error) {
	seen := map[int64]int{}
	var after int64
	for pages := 0; pages < 100000; pages++ {
		finished := false
		select {
		case <-done:
			finished = true
		default:
		}
		page, err := db.Events(ctx, store.EventFilter{After: after, Limit: limit})
		if err != nil {
			return nil, err
		}
		for _, e := range page {
			if e.Seq <= after {
				return nil, fmt.Errorf("page after %d holds seq %d", after, e.Seq)
			}
			seen[e.Seq]++
			after = e.Seq
		}
		if finished && len(page) == 0 {
			return seen, nil
		}
	}
	return nil, fmt.Errorf("events reader: still paging after 100000 pages")
}

package storetest

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/store"
)

// QuarantineReader is how payrecon reads the quarantine (the quarantine
// command and the burst alert).
type QuarantineReader interface {
	QuarantineList(ctx context.Context, f store.QuarantineFilter) ([]store.Quarantined, error)
	QuarantineEntry(ctx context.Context, id int64) (store.Quarantined, error)
	RejectReasonsSince(ctx context.Context, since time.Time) (map[string]map[string]int, error)
}

// testQuarantineList: rejected notifications are listed newest first,
// filtered by account, reason and time; one is read back by id with its
// allow-listed headers (a credential header never stored); an unknown id
// is ErrNotFound; reasons are counted per account, probes and older rows
// excluded.
func testQuarantineList(t *testing.T, db Ledger) {
	ctx := t.Context()
	hdr := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer secret-token"}}
	for i, r := range []payrecon.Rejected{
		{ReceivedAt: T0.Add(-2 * time.Hour), Account: "ali", Reason: "bad_signature", Body: []byte("old"), BodySize: 3},
		{ReceivedAt: T0, Account: "ali", Reason: "bad_signature", Header: hdr, Body: []byte("sign=x&out_trade_no=A1"), BodySize: 22},
		{ReceivedAt: T0, Account: "ali", Reason: "clock_skew", Body: []byte("y"), BodySize: 1},
		{ReceivedAt: T0, Account: "ali", Reason: "bad_signature", Body: []byte("z"), BodySize: 1},
		{ReceivedAt: T0, Account: "wx", Reason: "probe", Body: []byte("p"), BodySize: 1},
		{ReceivedAt: T0, Account: "wx", Reason: "decrypt", Body: []byte("d"), BodySize: 1},
	} {
		if err := db.Quarantine(ctx, r); err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
	}
	all := Must(db.QuarantineList(ctx, store.QuarantineFilter{}))
	if len(all) != 6 || all[0].Reason != "decrypt" || all[5].Reason != "bad_signature" || string(all[5].Body) != "old" {
		t.Fatalf("list: %+v", all)
	}
	recent := Must(db.QuarantineList(ctx, store.QuarantineFilter{Account: "ali", Reason: "bad_signature", Since: T0.Add(-time.Hour)}))
	if len(recent) != 2 || recent[1].Detail != "" || string(recent[1].Body) != "sign=x&out_trade_no=A1" {
		t.Fatalf("filtered list: %+v", recent)
	}
	if n := len(Must(db.QuarantineList(ctx, store.QuarantineFilter{Limit: 2}))); n != 2 {
		t.Fatalf("limit 2 gave %d", n)
	}
	one := Must(db.QuarantineEntry(ctx, recent[1].ID))
	if one.Header.Get("Content-Type") != "application/json" || one.Header.Get("Authorization") != "" || !one.ReceivedAt.Equal(T0) {
		t.Fatalf("entry %d: %+v", recent[1].ID, one)
	}
	if _, err := db.QuarantineEntry(ctx, 1<<40); !errors.Is(err, payrecon.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
	reasons := Must(db.RejectReasonsSince(ctx, T0.Add(-time.Hour)))
	if len(reasons) != 2 || len(reasons["ali"]) != 2 || reasons["ali"]["bad_signature"] != 2 || reasons["ali"]["clock_skew"] != 1 ||
		len(reasons["wx"]) != 1 || reasons["wx"]["decrypt"] != 1 {
		t.Fatalf("reasons %v", reasons)
	}
}

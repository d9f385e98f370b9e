package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/store"
)

// cmdEvents lists the events forwarded to the merchant's app, or, with
// "replay", queues them to be sent again.
func cmdEvents(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "replay" {
		return cmdEventsReplay(ctx, args[1:], getenv, stdout, stderr)
	}
	fs := newFlagSet("events", stderr)
	path := fs.String("config", "", "config file")
	status := fs.String("status", "", "only events pending, delivered or failed")
	account := fs.String("account", "", "only this account")
	asJSON := fs.Bool("json", false, "one event body per line, exactly as posted")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch payrecon.DeliveryStatus(*status) {
	case "", payrecon.DeliveryPending, payrecon.DeliveryDelivered, payrecon.DeliveryFailed:
	default:
		return fmt.Errorf("%w: -status: want pending, delivered or failed (got %q)", errUsage, *status)
	}
	cfg, err := readConfig(*path)
	if err != nil {
		return err
	}
	if *account != "" && !hasAccount(cfg, *account) {
		return fmt.Errorf("-account: no account %q in %s", *account, *path)
	}
	db, err := openLedger(ctx, cfg, getenv)
	if err != nil {
		return err
	}
	defer db.Close()
	evs, err := db.Events(ctx, store.EventFilter{Account: *account, Status: payrecon.DeliveryStatus(*status)})
	if err != nil {
		return err
	}
	if *asJSON {
		for _, e := range evs {
			if _, err := fmt.Fprintf(stdout, "%s\n", e.Body); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tID\tTYPE\tACCOUNT\tSOURCE\tCREATED_AT\tSTATUS")
	for _, e := range evs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.ID, e.Type, e.Account, e.Source,
			e.CreatedAt.Format(time.RFC3339), cmp.Or(string(e.Status), "-"))
	}
	return tw.Flush()
}

// cmdEventsReplay makes events pending again at every configured endpoint
// (a running serve sends them; otherwise the next one does).
func cmdEventsReplay(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("events replay", stderr)
	path := fs.String("config", "", "config file")
	since := fs.String("since", "", "every event written at or after this time (RFC 3339 or YYYY-MM-DD, Beijing time)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ids := fs.Args()
	if (len(ids) == 0) == (*since == "") {
		return fmt.Errorf("%w: events replay -config F ID… | -since TIME", errUsage)
	}
	var from time.Time
	if *since != "" {
		t, err := parseSince(*since)
		if err != nil {
			return err
		}
		from = t
	}
	cfg, err := readConfig(*path)
	if err != nil {
		return err
	}
	if len(cfg.Forward) == 0 {
		return fmt.Errorf("events replay: %s has no forward entries", *path)
	}
	db, err := openLedger(ctx, cfg, getenv)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := syncEndpoints(ctx, cfg, db); err != nil {
		return err
	}
	n, err := db.Replay(ctx, ids, from)
	if err != nil {
		return err
	}
	if len(ids) > 0 && n != len(ids) {
		return fmt.Errorf("events replay: %d of %d ids are events in the ledger", n, len(ids))
	}
	fmt.Fprintf(stdout, "%d events queued for delivery\n", n)
	return nil
}

// parseSince reads RFC 3339, or a bare date as Beijing midnight.
func parseSince(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, payrecon.ShanghaiFixed); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%w: -since: want RFC 3339 or YYYY-MM-DD (got %q)", errUsage, s)
}

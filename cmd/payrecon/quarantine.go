package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/store"
)

// quarantinePreview is how much of a rejected body `quarantine -id` shows.
const quarantinePreview = 2 << 10

// quarantineJSON is one rejected notification as `quarantine -json` prints
// it; Headers and BodyPreview only for -id.
type quarantineJSON struct {
	ID            int64               `json:"id"`
	ReceivedAt    string              `json:"received_at"`
	Account       string              `json:"account"`
	Provider      string              `json:"provider"`
	Reason        string              `json:"reason"`
	Detail        string              `json:"detail"`
	Method        string              `json:"method"`
	RemoteAddr    string              `json:"remote_addr"`
	BodySize      int64               `json:"body_size"`
	BodyTruncated bool                `json:"body_truncated"`
	Headers       map[string][]string `json:"headers,omitempty"`
	BodyPreview   string              `json:"body_preview,omitempty"`
}

// quarantineFlags are the command line of `payrecon quarantine`.
type quarantineFlags struct {
	config, account, since, reason string
	id                             int64
	n                              int
	json                           bool
}

// cmdQuarantine lists rejected notifications, or shows one. It only reads
// the ledger, so it works while serve runs.
func cmdQuarantine(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("quarantine", stderr)
	var f quarantineFlags
	fs.StringVar(&f.config, "config", "", "config file")
	fs.StringVar(&f.account, "account", "", "only notifications for this account (as addressed: /notify/{account})")
	fs.StringVar(&f.since, "since", "24h", "only notifications received in this last span (1h, 30m) or since this RFC 3339 time")
	fs.StringVar(&f.reason, "reason", "", "only this reason: "+strings.Join(payrecon.RejectReasons(), ", "))
	fs.Int64Var(&f.id, "id", 0, "show this one notification, with its headers and a preview of its body")
	fs.IntVar(&f.n, "n", 100, "at most this many, newest first")
	fs.BoolVar(&f.json, "json", false, "one JSON object per line")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: quarantine takes no arguments (got %q)", errUsage, fs.Arg(0))
	}
	filter, err := f.filter(time.Now())
	if err != nil {
		return err
	}
	cfg, err := readConfig(f.config)
	if err != nil {
		return err
	}
	loc, err := time.LoadLocation(cfg.Timezone)
	if err != nil {
		return err
	}
	db, err := openLedger(ctx, cfg, getenv)
	if err != nil {
		return err
	}
	defer db.Close()
	if f.id != 0 {
		q, err := db.QuarantineEntry(ctx, f.id)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("-id: no rejected notification %d in the quarantine (it may have aged out)", f.id)
		} else if err != nil {
			return err
		}
		return showQuarantined(stdout, q, loc, f.json)
	}
	rows, err := db.QuarantineList(ctx, filter)
	if err != nil {
		return err
	}
	return listQuarantined(stdout, rows, loc, f.json)
}

// filter checks the flags and turns them into a store filter.
func (f quarantineFlags) filter(now time.Time) (store.QuarantineFilter, error) {
	out := store.QuarantineFilter{Account: f.account, Reason: f.reason, Limit: f.n}
	if f.reason != "" && !slices.Contains(payrecon.RejectReasons(), f.reason) {
		return out, fmt.Errorf("-reason: want one of %s (got %q)", strings.Join(payrecon.RejectReasons(), ", "), f.reason)
	}
	if f.n <= 0 {
		return out, fmt.Errorf("-n: want a positive number (got %d)", f.n)
	}
	if f.id < 0 {
		return out, fmt.Errorf("-id: want a positive number (got %d)", f.id)
	}
	if d, err := time.ParseDuration(f.since); err == nil && d > 0 {
		out.Since = now.Add(-d)
	} else if t, err := time.Parse(time.RFC3339, f.since); err == nil {
		out.Since = t
	} else {
		return out, fmt.Errorf("-since: want a positive duration such as 1h or an RFC 3339 time (got %q)", f.since)
	}
	return out, nil
}

func quarantineRecord(q store.Quarantined, loc *time.Location) quarantineJSON {
	return quarantineJSON{ID: q.ID, ReceivedAt: q.ReceivedAt.In(loc).Format(time.RFC3339), Account: q.Account, Provider: q.Provider,
		Reason: q.Reason, Detail: q.Detail, Method: q.Method, RemoteAddr: q.RemoteAddr, BodySize: q.BodySize, BodyTruncated: q.Truncated}
}

func listQuarantined(w io.Writer, rows []store.Quarantined, loc *time.Location, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		for _, q := range rows {
			if err := enc.Encode(quarantineRecord(q, loc)); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tRECEIVED\tACCOUNT\tPROVIDER\tREASON\tFROM\tBYTES\tDETAIL")
	for _, q := range rows {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", q.ID, q.ReceivedAt.In(loc).Format("2006-01-02 15:04:05"), q.Account,
			q.Provider, q.Reason, q.RemoteAddr, q.BodySize, oneLine(q.Detail, 80))
	}
	if len(rows) == 0 {
		fmt.Fprintln(tw, "(no rejected notifications match)")
	}
	return tw.Flush()
}

// showQuarantined prints one rejected notification: its fields, its headers
// (only the allow-listed ones were ever stored; they are filtered again
// here) and the start of its body.
func showQuarantined(w io.Writer, q store.Quarantined, loc *time.Location, asJSON bool) error {
	rec := quarantineRecord(q, loc)
	rec.Headers = payrecon.KeepHeaders(q.Header)
	rec.BodyPreview = bodyPreview(q.Body)
	if asJSON {
		return json.NewEncoder(w).Encode(rec)
	}
	fmt.Fprintf(w, "id:          %d\nreceived:    %s\naccount:     %s\nprovider:    %s\nreason:      %s\ndetail:      %s\n",
		rec.ID, rec.ReceivedAt, rec.Account, rec.Provider, rec.Reason, rec.Detail)
	fmt.Fprintf(w, "request:     %s from %s\nbody:        %d bytes%s\n\nheaders:\n", rec.Method, rec.RemoteAddr, rec.BodySize,
		map[bool]string{true: " (only the start was kept)"}[q.Truncated])
	names := make([]string, 0, len(rec.Headers))
	for k := range rec.Headers {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		for _, v := range rec.Headers[k] {
			fmt.Fprintf(w, "  %s: %s\n", k, v)
		}
	}
	_, err := fmt.Fprintf(w, "\nbody preview:\n%s\n", rec.BodyPreview)
	return err
}

// bodyPreview is the start of a body: as text when it is UTF-8, else in
// hex.
func bodyPreview(b []byte) string {
	cut := b[:min(len(b), quarantinePreview)]
	for i := 0; i < utf8.UTFMax-1 && len(cut) < len(b) && !utf8.Valid(cut); i++ {
		cut = cut[:len(cut)-1] // the preview ended inside a character
	}
	if !utf8.Valid(cut) {
		return "(not UTF-8; hex) " + hex.EncodeToString(b[:min(len(b), 256)]) + fmt.Sprintf("\n… (%d bytes stored)", len(b))
	}
	if len(cut) < len(b) {
		return string(cut) + fmt.Sprintf("\n… (%d more bytes stored)", len(b)-len(cut))
	}
	return string(cut)
}

// oneLine keeps the first line of s, at most n bytes.
func oneLine(s string, n int) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > n {
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n] + "…"
	}
	return s
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/archive"
	"github.com/payrecon/payrecon/config"
	"github.com/payrecon/payrecon/review"
	"github.com/payrecon/payrecon/store"
)

const reviewUsage = `payrecon review list -config F [-account A] [-date D] [-code C] [-state S] [-json]
payrecon review show -config F [-json] ID
payrecon review requery -config F [-operator NAME] ID
payrecon review resolve -config F -action accept-provider|accept-ledger|write-off -remark TEXT [-operator NAME] [-confirm TOKEN] ID`

// newReviewService wires the review rules to the ledger and, when accts
// are given, the providers' query clients.
func newReviewService(cfg config.Config, accts []Account, db *store.DB) *review.Service {
	s := &review.Service{DB: db, Accounts: map[string]review.Account{}, WriteOffMaxFen: payrecon.Fen(cfg.Review.WriteOffMaxFen),
		HoldDays: cfg.Reconcile.HoldDays, Interval: time.Duration(cfg.Reconcile.QueryInterval), Now: time.Now}
	for _, a := range accts {
		s.Accounts[a.Config.Name] = review.Account{Provider: a.Provider, Query: a.Client}
	}
	return s
}

func cmdReview(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, reviewUsage)
		return fmt.Errorf("%w: payrecon review list|show|requery|resolve", errUsage)
	}
	switch args[0] {
	case "list":
		return reviewList(ctx, args[1:], stdout, stderr)
	case "show":
		return reviewShow(ctx, args[1:], stdout, stderr)
	case "requery":
		return reviewRequery(ctx, args[1:], getenv, stdout, stderr)
	case "resolve":
		return reviewResolve(ctx, args[1:], getenv, stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(stdout, reviewUsage)
		return nil
	}
	fmt.Fprintln(stderr, reviewUsage)
	return fmt.Errorf("%w: unknown review command %q", errUsage, args[0])
}

// reviewLedger reads the config (and, with keys, every key) and opens the
// ledger; close closes it.
func reviewLedger(ctx context.Context, path string, keys bool, getenv func(string) string) (*review.Service, func() error, error) {
	var cfg config.Config
	var accts []Account
	var err error
	if keys {
		cfg, accts, err = loadConfig(path, getenv)
	} else {
		cfg, err = readConfig(path)
	}
	if err != nil {
		return nil, nil, err
	}
	db, err := openLedger(ctx, cfg, getenv)
	if err != nil {
		return nil, nil, err
	}
	if !keys { // provider names without keys: list and show query nothing
		for _, a := range cfg.Accounts {
			accts = append(accts, Account{Config: a, Provider: payrecon.Provider(a.Provider)})
		}
	}
	return newReviewService(cfg, accts, db), db.Close, nil
}

func reviewList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("review list", stderr)
	path := fs.String("config", "", "config file")
	var f review.Filter
	fs.StringVar(&f.Account, "account", "", "only this account")
	date := fs.String("date", "", "only this bill day, YYYY-MM-DD")
	code := fs.String("code", "", "only this code (AMOUNT_MISMATCH, MISSING_LOCAL, …)")
	state := fs.String("state", "", "only this state (NEEDS_REVIEW, PENDING, CONFIRMED_ABSENT)")
	asJSON := fs.Bool("json", false, "one JSON object per line")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *date != "" {
		d, err := payrecon.ParseDay(*date)
		if err != nil {
			return fmt.Errorf("-date: want YYYY-MM-DD (got %q)", *date)
		}
		f.Day = d
	}
	f.Code, f.State = payrecon.Code(*code), payrecon.Outcome(*state)
	if *state != "" && !f.State.IsOpenForReview() {
		return fmt.Errorf("-state: want NEEDS_REVIEW, PENDING or CONFIRMED_ABSENT (got %q)", *state)
	}
	svc, closeDB, err := reviewLedger(ctx, *path, false, nil)
	if err != nil {
		return err
	}
	defer closeDB()
	items, err := svc.List(ctx, f)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, it := range items {
			if err := enc.Encode(itemJSON(it)); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tACCOUNT\tDAY\tCODE\tSTATE\tORDER\tBILL\tLEDGER\tAT STAKE")
	for _, it := range items {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", it.ID, it.Account, it.Day, it.Code, it.Resolution, it.OrderNo(),
			side(it.HasBill, it.BillFen), side(it.HasLedger, it.LedgerFen), it.AtStake())
	}
	return tw.Flush()
}

func side(has bool, f payrecon.Fen) string {
	if !has {
		return "-"
	}
	return f.String()
}

// reviewItemJSON is an item as "review list -json" and "review show -json"
// print it.
type reviewItemJSON struct {
	ID           int64               `json:"id"`
	Account      string              `json:"account"`
	Date         string              `json:"date"`
	RunID        int64               `json:"run_id"`
	Code         payrecon.Code       `json:"code"`
	Kind         payrecon.EntryKind  `json:"kind"`
	OutTradeNo   string              `json:"out_trade_no"`
	OutRefundNo  string              `json:"out_refund_no,omitempty"`
	BillFen      *payrecon.Fen       `json:"bill_fen"`
	LedgerFen    *payrecon.Fen       `json:"ledger_fen"`
	AtStakeFen   payrecon.Fen        `json:"at_stake_fen"`
	State        payrecon.Outcome    `json:"state"`
	LedgerState  payrecon.ReconState `json:"recon_state,omitempty"`
	Note         string              `json:"note"`
	QueryResult  string              `json:"query_result"`
	LedgerStatus string              `json:"ledger_status,omitempty"`
}

func itemJSON(it payrecon.ReviewItem) reviewItemJSON {
	j := reviewItemJSON{ID: it.ID, Account: it.Account, Date: it.Day.String(), RunID: it.RunID, Code: it.Code, Kind: it.Kind,
		OutTradeNo: it.OutTradeNo, OutRefundNo: it.OutRefundNo, AtStakeFen: it.AtStake(), State: it.Resolution,
		LedgerState: it.LedgerState, Note: it.Note, QueryResult: it.QueryResult, LedgerStatus: it.LedgerStatus}
	if it.HasBill {
		j.BillFen = &it.BillFen
	}
	if it.HasLedger {
		j.LedgerFen = &it.LedgerFen
	}
	return j
}

// itemArg reads the one ID argument.
func itemArg(fs *flag.FlagSet) (int64, error) {
	if fs.NArg() != 1 {
		return 0, fmt.Errorf("%w: want one item ID (from payrecon review list)", errUsage)
	}
	id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%w: item ID: want a positive number (got %q)", errUsage, fs.Arg(0))
	}
	return id, nil
}

func reviewShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("review show", stderr)
	path := fs.String("config", "", "config file")
	asJSON := fs.Bool("json", false, "one JSON object")
	if err := fs.Parse(args); err != nil {
		return err
	}
	id, err := itemArg(fs)
	if err != nil {
		return err
	}
	svc, closeDB, err := reviewLedger(ctx, *path, false, nil)
	if err != nil {
		return err
	}
	defer closeDB()
	d, err := svc.Show(ctx, id)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(struct {
			Item          reviewItemJSON        `json:"item"`
			Open          bool                  `json:"open"`
			Notifications []review.Notification `json:"notifications"`
			Queries       []store.ItemQuery     `json:"queries"`
			Audit         []payrecon.AuditEntry `json:"audit"`
			BillLines     []archive.Line        `json:"bill_lines"`
			BillError     string                `json:"bill_error,omitempty"`
		}{itemJSON(d.Item), d.Open, d.Notifications, d.Queries, d.Audit, d.BillLines, d.BillError})
	}
	it := d.Item
	fmt.Fprintf(stdout, "item %d  %s %s  %s %s %s  open=%v\n", it.ID, it.Account, it.Day, it.Code, it.Kind, it.OrderNo(), d.Open)
	fmt.Fprintf(stdout, "bill:   %s\nledger: %s %s (recon_state %s)\nstate:  %s\nnote:   %s\nquery:  %s\n", side(it.HasBill, it.BillFen),
		side(it.HasLedger, it.LedgerFen), it.LedgerStatus, it.LedgerState, it.Resolution, it.Note, it.QueryResult)
	for _, l := range d.BillLines {
		fmt.Fprintf(stdout, "bill line %d: %s\n", l.N, l.Text)
	}
	if d.BillError != "" {
		fmt.Fprintf(stdout, "bill lines: %s\n", d.BillError)
	}
	for _, n := range d.Notifications {
		fmt.Fprintf(stdout, "notification %d  %s %s  %s  x%d\n", n.ID, n.Protocol, n.EventType, n.ReceivedAt.Format(time.RFC3339), n.Deliveries)
		for k, v := range n.Header {
			fmt.Fprintf(stdout, "  %s: %s\n", k, strings.Join(v, ", "))
		}
		fmt.Fprintf(stdout, "  %s\n", n.Body)
	}
	for _, q := range d.Queries {
		fmt.Fprintf(stdout, "query %s  by %s: %s\n", q.At.Format(time.RFC3339), q.Operator, q.Answer)
	}
	for _, a := range d.Audit {
		fmt.Fprintf(stdout, "audit %s  %s %s: %s -> %s  %s  operator=%s remark=%q\n", a.At.Format(time.RFC3339), a.Object, a.Field,
			a.OldValue, a.NewValue, a.Reason, a.Operator, a.Remark)
	}
	return nil
}

func reviewRequery(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("review requery", stderr)
	path := fs.String("config", "", "config file")
	operator := fs.String("operator", "", "who asks (default $USER)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	id, err := itemArg(fs)
	if err != nil {
		return err
	}
	svc, closeDB, err := reviewLedger(ctx, *path, true, getenv)
	if err != nil {
		return err
	}
	defer closeDB()
	op := *operator
	if op == "" {
		op = getenv("USER")
	}
	answer, err := svc.Requery(ctx, id, op)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "item %d: %s\n", id, answer)
	return nil
}

func reviewResolve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("review resolve", stderr)
	path := fs.String("config", "", "config file")
	action := fs.String("action", "", "accept-provider (以渠道为准), accept-ledger (以本地为准) or write-off")
	remark := fs.String("remark", "", "why (required; kept in the audit trail)")
	operator := fs.String("operator", "", "who resolves (default $USER)")
	confirm := fs.String("confirm", "", "the token of the preview, to apply a resolution that changes money")
	if err := fs.Parse(args); err != nil {
		return err
	}
	id, err := itemArg(fs)
	if err != nil {
		return err
	}
	act, err := payrecon.ParseReviewAction(*action)
	if err != nil {
		return fmt.Errorf("-action: %w", err)
	}
	op := *operator
	if op == "" {
		op = getenv("USER")
	}
	svc, closeDB, err := reviewLedger(ctx, *path, true, getenv)
	if err != nil {
		return err
	}
	defer closeDB()
	p, err := svc.Resolve(ctx, review.Request{ItemID: id, Action: act, Operator: op, Remark: *remark}, *confirm)
	if errors.Is(err, payrecon.ErrNeedsConfirmation) {
		fmt.Fprintf(stdout, "preview of item %d (%s), nothing changed yet:\n", id, act)
		printChanges(stdout, p.Changes)
		fmt.Fprintf(stdout, "to apply: payrecon review resolve -config %s -action %s -remark %q -operator %q -confirm %s %d\n",
			*path, act, *remark, op, p.Token, id)
		return err
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "item %d resolved (%s) by %s:\n", id, act, op)
	printChanges(stdout, p.Changes)
	return nil
}

func printChanges(w io.Writer, cs []payrecon.Change) {
	for _, c := range cs {
		fmt.Fprintf(w, "  %s %s: %s -> %s\n", c.Object, c.Field, c.Old, c.New)
	}
}

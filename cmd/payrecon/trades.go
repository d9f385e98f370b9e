package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/config"
	"github.com/payrecon/payrecon/store"
)

// openLedger opens the configured ledger (SQLite or PostgreSQL) for a
// short-lived command.
func openLedger(ctx context.Context, cfg config.Config, getenv func(string) string) (*store.DB, error) {
	src, err := cfg.DatabaseSource(getenv)
	if err != nil {
		return nil, err
	}
	return store.Open(ctx, src, store.Options{}, slog.New(slog.DiscardHandler))
}

func cmdTrades(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("trades", stderr)
	path := fs.String("config", "", "config file")
	account := fs.String("account", "", "only this account")
	date := fs.String("date", "", "only trades paid (or, if unpaid, created) on this bill day, YYYY-MM-DD in Beijing time as on the bills")
	asJSON := fs.Bool("json", false, "one JSON object per line")
	state := fs.String("state", "", "only trades in this reconciliation state (UNRECONCILED, MATCHED, RECOVERED, PENDING, NEEDS_REVIEW, CONFIRMED_ABSENT)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := readConfig(*path)
	if err != nil {
		return err
	}
	loc, err := time.LoadLocation(cfg.Timezone)
	if err != nil {
		return err
	}
	f := store.TradeFilter{Account: *account}
	if *state != "" {
		if f.State, err = payrecon.ParseReconState(*state); err != nil {
			return fmt.Errorf("-state: %w", err)
		}
	}
	if *account != "" && !hasAccount(cfg, *account) {
		return fmt.Errorf("-account: no account %q in %s", *account, *path)
	}
	if *date != "" {
		d, err := parseDay(*date, time.Now())
		if err != nil {
			return err
		}
		f.PaidFrom, f.PaidTo = d.Start(), d.End()
	}
	db, err := openLedger(ctx, cfg, getenv)
	if err != nil {
		return err
	}
	defer db.Close()
	trades, err := db.Trades(ctx, f)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, t := range trades {
			if err := enc.Encode(t.App(loc)); err != nil {
				return err
			}
		}
		return nil
	}
	return printTrades(stdout, trades, loc)
}

// printTrades writes the trades as a table. A trade the provider denies
// (CONFIRMED_ABSENT) is never shown as plainly paid: its status reads
// "PAID (DENIED)" and a note under the table says what that means.
func printTrades(w io.Writer, trades []payrecon.Trade, loc *time.Location) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tOUT_TRADE_NO\tSTATUS\tAMOUNT\tREFUNDED\tPAID_AT\tSOURCE\tRECON_STATE")
	denied := 0
	for _, t := range trades {
		j := t.App(loc)
		status := string(t.Status)
		if t.ReconState == payrecon.StateConfirmedAbsent {
			status += " (DENIED)"
			denied++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Account, t.OutTradeNo, status, t.AmountFen.Yuan(), t.RefundedFen.Yuan(), j.PaidAt, t.Source, t.ReconState)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if denied > 0 {
		_, err := fmt.Fprintf(w, "\n%d trade(s) DENIED: the provider has no such paid trade (CONFIRMED_ABSENT); the notification is suspect, do not ship\n", denied)
		return err
	}
	return nil
}

func hasAccount(cfg config.Config, name string) bool {
	for _, a := range cfg.Accounts {
		if a.Name == name {
			return true
		}
	}
	return false
}

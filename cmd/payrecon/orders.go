package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/config"
	"github.com/payrecon/payrecon/jobs"
)

// newRegistrar builds the order registration shared by POST /api/orders
// and "payrecon orders import".
func newRegistrar(cfg config.Config, db jobs.OrderRegistry) *jobs.Registrar {
	return jobs.NewRegistrar(db, accountNames(cfg), cfg.Sweep.Tiers, time.Now)
}

// accountNames lists the configured accounts' names.
func accountNames(cfg config.Config) []string {
	names := make([]string, len(cfg.Accounts))
	for i, a := range cfg.Accounts {
		names[i] = a.Name
	}
	return names
}

// cmdOrders: payrecon orders import -config F -account A FILE (CSV with
// the header out_trade_no,amount_fen,created_at). The file is imported
// whole or not at all.
func cmdOrders(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const use = "payrecon orders import -config F -account A FILE"
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		fmt.Fprintln(stdout, "Usage:\n  "+use)
		return nil
	}
	if len(args) == 0 || args[0] != "import" {
		return fmt.Errorf("%w: %s", errUsage, use)
	}
	fs := newFlagSet("orders import", stderr)
	path := fs.String("config", "", "config file")
	account := fs.String("account", "", "account the orders belong to")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 || *account == "" {
		return fmt.Errorf("%w: payrecon orders import -config F -account A FILE", errUsage)
	}
	cfg, err := readConfig(*path)
	if err != nil {
		return err
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("orders import: %w", err)
	}
	defer f.Close()
	orders, lines, err := readOrdersCSV(f, *account)
	if err != nil {
		return fmt.Errorf("orders import: %w (nothing imported)", err)
	}
	db, err := openLedger(ctx, cfg, getenv)
	if err != nil {
		return err
	}
	defer db.Close()
	reg := newRegistrar(cfg, db)
	added, known, err := reg.Register(ctx, orders)
	if oe := (*jobs.OrderError)(nil); errors.As(err, &oe) {
		return fmt.Errorf("orders import: line %d: %s: %s (nothing imported)", lines[oe.Row], oe.Field, oe.Reason)
	}
	if err != nil {
		return fmt.Errorf("orders import: %w (nothing imported)", err)
	}
	fmt.Fprintf(stdout, "registered %d orders (%d already known)\n", added, known)
	return nil
}

// readOrdersCSV reads an orders file: a header naming out_trade_no (and
// optionally amount_fen, created_at), then one order per record. It
// returns the orders and the line each starts on.
func readOrdersCSV(r io.Reader, account string) ([]jobs.OrderRequest, []int, error) {
	cr := csv.NewReader(r)
	head, err := cr.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("header: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF"))] = i
	}
	if _, ok := col["out_trade_no"]; !ok {
		return nil, nil, errors.New("the header needs out_trade_no (and amount_fen, created_at)")
	}
	var orders []jobs.OrderRequest
	var lines []int
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, err // a *csv.ParseError names the line
		}
		line, _ := cr.FieldPos(0)
		o := jobs.OrderRequest{Account: account, OutTradeNo: rec[col["out_trade_no"]]}
		if i, ok := col["amount_fen"]; ok {
			n, err := strconv.ParseInt(rec[i], 10, 64)
			if err != nil {
				return nil, nil, fmt.Errorf("line %d: amount_fen: want an integer number of fen (got %q)", line, rec[i])
			}
			o.AmountFen = payrecon.Fen(n)
		}
		if i, ok := col["created_at"]; ok {
			o.CreatedAt = rec[i]
		}
		orders = append(orders, o)
		lines = append(lines, line)
	}
	return orders, lines, nil
}

package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/store"
)

// orderIn is one expected order, as POST /api/orders and the CSV import
// take it.
type orderIn struct {
	Account    string `json:"account"`
	OutTradeNo string `json:"out_trade_no"`
	AmountFen  int64  `json:"amount_fen"`
	CreatedAt  string `json:"created_at"` // RFC 3339; default now
}

// registerOrders validates and records expected orders; their first check
// is one first-tier interval after creation.
func registerOrders(ctx context.Context, db *store.DB, cfg Config, tiers []jobs.Tier, now time.Time, orders []orderIn) (added, known int, err error) {
	for i, o := range orders {
		if !hasAccount(cfg, o.Account) {
			return added, known, fmt.Errorf("order %d: unknown account %q", i, o.Account)
		}
		if o.OutTradeNo == "" || len(o.OutTradeNo) > 64 || o.AmountFen < 0 {
			return added, known, fmt.Errorf("order %d: out_trade_no (1–64 chars) and a non-negative amount_fen are required", i)
		}
		created := now
		if o.CreatedAt != "" {
			if created, err = time.Parse(time.RFC3339, o.CreatedAt); err != nil {
				return added, known, fmt.Errorf("order %d: created_at %q is not RFC 3339", i, o.CreatedAt)
			}
		}
		first := created.Add(tiers[0].Every)
		if first.Before(now) {
			first = now
		}
		isNew, err := db.RegisterOrder(ctx, o.Account, o.OutTradeNo, payrecon.Fen(o.AmountFen), created, first)
		if err != nil {
			return added, known, err
		}
		if isNew {
			added++
		} else {
			known++
		}
	}
	return added, known, nil
}

// handleOrders is POST /api/orders: one order object or an array of them.
func handleOrders(cfg Config, db *store.DB) http.Handler {
	tiers, _ := parseTiers(cfg.Sweep.Tiers)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		var orders []orderIn
		if err := json.Unmarshal(body, &orders); err != nil {
			var one orderIn
			if err := json.Unmarshal(body, &one); err != nil {
				http.Error(w, "want a JSON order or an array of orders", http.StatusBadRequest)
				return
			}
			orders = []orderIn{one}
		}
		added, known, err := registerOrders(r.Context(), db, cfg, tiers, time.Now(), orders)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]int{"registered": added, "already_known": known})
	})
}

// cmdOrders: payrecon orders import -config F -account A FILE (CSV with
// the header out_trade_no,amount_fen,created_at).
func cmdOrders(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "import" {
		return fmt.Errorf("%w: payrecon orders import -config F -account A FILE", errUsage)
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
		return err
	}
	defer f.Close()
	r := csv.NewReader(f)
	head, err := r.Read()
	if err != nil {
		return fmt.Errorf("orders import: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF"))] = i
	}
	if _, ok := col["out_trade_no"]; !ok {
		return errors.New("orders import: the header needs out_trade_no (and amount_fen, created_at)")
	}
	var orders []orderIn
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("orders import line %d: %w", line, err)
		}
		o := orderIn{Account: *account, OutTradeNo: rec[col["out_trade_no"]]}
		if i, ok := col["amount_fen"]; ok {
			if o.AmountFen, err = strconv.ParseInt(rec[i], 10, 64); err != nil {
				return fmt.Errorf("orders import line %d: amount_fen %q", line, rec[i])
			}
		}
		if i, ok := col["created_at"]; ok {
			o.CreatedAt = rec[i]
		}
		orders = append(orders, o)
	}
	db, err := openLedger(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	tiers, _ := parseTiers(cfg.Sweep.Tiers)
	added, known, err := registerOrders(ctx, db, cfg, tiers, time.Now(), orders)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "registered %d orders (%d already known)\n", added, known)
	return nil
}

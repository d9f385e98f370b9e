package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/provider/sandbox/sandboxtest"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// TestSweepRecoversDroppedCallback: the merchant registers an order through
// POST /api/orders; its payment callback is dropped; payrecon serve's sweep
// queries the emulated provider within the first tier and backfills the
// ledger (source=query), the same day.
func TestSweepRecoversDroppedCallback(t *testing.T) {
	fx := sandboxtest.New(t)
	dir, cfgPath, sb := fx.Dir, fx.Config, fx.Sandbox
	now := time.Now()
	day := sb.GenerateDay(now, sandbox.DayOptions{Trades: 20, Seed: 3, Faults: true})
	var dropped *sandbox.Trade
	for _, tr := range day.Trades {
		if tr.DropNotify {
			dropped = tr
			break
		}
	}
	serveProviders(t, sb, cfgPath, sandbox.ServerFaults{}, day)
	os.WriteFile(filepath.Join(dir, "keys", "admin.token"), []byte("tok"), 0o600)
	cfg, _ := os.ReadFile(cfgPath)
	cfg = []byte(strings.Replace(string(cfg), "accounts:", "admin:\n  token_file: keys/admin.token\nsweep:\n  enabled: true\n  interval: 100ms\n  tiers: 300ms/10m, 10m/1h\naccounts:", 1))
	os.WriteFile(cfgPath, cfg, 0o600)

	addr, logs, stop := startServe(t, cfgPath)

	// The day's other callbacks arrive; this one is dropped.
	if res, err := sb.DeliverDays(t.Context(), &http.Client{Timeout: 10 * time.Second}, "http://"+addr, io.Discard, day); err != nil {
		t.Fatalf("%v %v", err, res.Unexpected)
	}
	account := map[string]string{"alipay": "sandbox-ali", "wechatpay": "sandbox-wx"}[string(dropped.Provider)]
	order, _ := json.Marshal(map[string]any{"account": account, "out_trade_no": dropped.OutTradeNo, "amount_fen": int64(dropped.AmountFen),
		"created_at": now.Add(-20 * time.Second).Format(time.RFC3339)})
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/orders", bytes.NewReader(order))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without token: %v %v", resp.StatusCode, err)
	}
	req, _ = http.NewRequest(http.MethodPost, "http://"+addr+"/api/orders", bytes.NewReader(order))
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("register: %v %v", resp, err)
	}
	resp.Body.Close()

	// Within the first tier (300 ms), the sweep recovers it.
	deadline := time.Now().Add(5 * time.Second)
	for {
		var out bytes.Buffer
		if err := run(t.Context(), []string{"trades", "-config", cfgPath, "-account", account, "-json"}, noenv, &out, io.Discard); err != nil {
			t.Fatal(err)
		}
		if line := findLine(out.String(), dropped.OutTradeNo); strings.Contains(line, `"status":"PAID"`) {
			if !strings.Contains(line, `"source":"query"`) || !strings.Contains(line, fmt.Sprintf(`"amount_fen":%d`, dropped.AmountFen)) {
				t.Fatalf("recovered trade %s", line)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sweep did not recover %s in 5 s:\n%s", dropped.OutTradeNo, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
}

func findLine(s, substr string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			return l
		}
	}
	return ""
}

func TestOrdersImport(t *testing.T) {
	dir, cfgPath := copySandbox(t)
	csvPath := filepath.Join(dir, "orders.csv")
	os.WriteFile(csvPath, []byte("\uFEFFout_trade_no,amount_fen,created_at\nO-1,100,2026-11-20T10:00:00+08:00\nO-2,250,2026-11-20T10:05:00+08:00\n"), 0o600)
	var out bytes.Buffer
	if err := run(t.Context(), []string{"orders", "import", "-config", cfgPath, "-account", "sandbox-ali", csvPath}, noenv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "registered 2 orders (0 already known)") {
		t.Fatalf("%s", out.String())
	}
	out.Reset()
	run(t.Context(), []string{"orders", "import", "-config", cfgPath, "-account", "sandbox-ali", csvPath}, noenv, &out, io.Discard)
	if !strings.Contains(out.String(), "registered 0 orders (2 already known)") {
		t.Fatalf("re-import: %s", out.String())
	}
	// A bad row in the middle: the error names its line and field, and
	// nothing of the file is registered.
	for _, tc := range []struct{ name, csv, want string }{
		{"amount not a number", "out_trade_no,amount_fen\nO-3,300\nO-4,lots\nO-5,500\n", "line 3: amount_fen: "},
		{"negative amount", "out_trade_no,amount_fen\nO-3,300\nO-4,-1\nO-5,500\n", "line 3: amount_fen: "},
		{"created_at not RFC 3339", "out_trade_no,amount_fen,created_at\nO-3,300,\nO-4,400,\"20 Nov, 10:00\"\nO-5,500,\n", "line 3: created_at: "},
		{"no out_trade_no", "out_trade_no,amount_fen\nO-3,300\n\"\",400\nO-5,500\n", "line 3: out_trade_no: "},
	} {
		os.WriteFile(csvPath, []byte(tc.csv), 0o600)
		err := run(t.Context(), []string{"orders", "import", "-config", cfgPath, "-account", "sandbox-ali", csvPath}, noenv, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "nothing imported") {
			t.Errorf("%s: err = %v, want it to name %q", tc.name, err, tc.want)
		}
	}
	if got := ledgerOrders(t, filepath.Join(dir, "var", "payrecon.db"), "sandbox-ali"); len(got) != 2 {
		t.Fatalf("rejected imports registered orders: %+v", got)
	}
}

// ledgerOrders lists the expected orders of account in the ledger at path.
func ledgerOrders(t *testing.T, path, account string) []payrecon.ExpectedOrder {
	t.Helper()
	db, err := store.Open(t.Context(), path, store.Options{}, storetest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.Orders(t.Context(), account, time.Time{}, time.Now().AddDate(10, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

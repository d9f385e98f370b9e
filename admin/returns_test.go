package admin_test

import (
	"crypto/rand"
	"crypto/rsa"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/admin"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/provider/sandbox/sandboxtest"
	"github.com/payrecon/payrecon/store"
)

// returnsEnv serves POST /api/returns/{account} as cmd/payrecon mounts it,
// with the sandbox merchant's Alipay verifier, over a ledger file.
func returnsEnv(t *testing.T) (*sandbox.Sandbox, *store.DB, string) {
	t.Helper()
	sb := sandboxtest.New(t).Sandbox
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "ledger.db"), store.Options{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	av, _ := sb.Verifiers(time.Now)
	accounts := []string{sb.ID.Alipay.Account, sb.ID.WeChat.Account}
	reg := jobs.NewRegistrar(db, accounts, jobs.DefaultTiers(), time.Now)
	logger := slog.New(slog.NewTextHandler(tlog{t}, nil))
	mux := http.NewServeMux()
	mux.Handle("POST /api/returns/{account}", admin.RequireToken([]byte(token),
		admin.HandleReturns(logger, admin.ReturnVerifiers{sb.ID.Alipay.Account: av.Verify}, reg)))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return sb, db, srv.URL
}

// signedReturn is the query string Alipay appends to return_url after a
// page payment, signed with key (nil: Alipay's).
func signedReturn(t *testing.T, sb *sandbox.Sandbox, out string, amount payrecon.Fen, key *rsa.PrivateKey) string {
	t.Helper()
	p := sb.AlipayReturnParams(sandbox.AlipayTrade{OutTradeNo: out, TradeNo: "2026112022001" + out, Amount: amount, Paid: time.Now()})
	b, err := sb.SignAlipay(p, sandbox.AlipayOptions{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func postReturn(t *testing.T, base, account, tok, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/api/returns/"+account, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestReturns: a verified return registers its order once, due for its
// first check within the fastest tier; a forged, tampered or malformed
// return is 400 and registers nothing; a WeChat Pay or unknown account is
// 404 and a missing token 401.
func TestReturns(t *testing.T) {
	sb, db, base := returnsEnv(t)
	ali := sb.ID.Alipay.Account
	forger, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	good := signedReturn(t, sb, "RET001", 8880, nil)
	for _, tc := range []struct {
		name, account, tok, body string
		want                     int
	}{
		{"forged", ali, token, signedReturn(t, sb, "RET002", 8880, forger), 400},
		{"tampered amount", ali, token, strings.Replace(good, "total_amount=88.80", "total_amount=0.01", 1), 400},
		{"tampered order", ali, token, strings.Replace(good, "RET001", "RET003", 1), 400},
		{"unsigned", ali, token, "out_trade_no=RET004&total_amount=1.00", 400},
		{"tampered app_id", ali, token, strings.Replace(signedReturn(t, sb, "RET005", 100, nil), sb.ID.Alipay.AppID, "2021000000000000", 1), 400},
		{"wechat account", sb.ID.WeChat.Account, token, good, 404},
		{"unknown account", "nope", token, good, 404},
		{"no token", ali, "wrong", good, 401},
	} {
		if code, body := postReturn(t, base, tc.account, tc.tok, tc.body); code != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, code, body, tc.want)
		}
	}
	if got := orders(t, db, ali); len(got) != 0 {
		t.Fatalf("rejected returns registered %+v", got)
	}
	for i, want := range []string{`"registered":1`, `"already_known":1`} {
		code, body := postReturn(t, base, ali, token, "?"+good)
		if code != 200 || !strings.Contains(body, want) || !strings.Contains(body, `"out_trade_no":"RET001"`) {
			t.Fatalf("return %d: %d %s, want %s", i, code, body, want)
		}
	}
	got := orders(t, db, ali)
	if len(got) != 1 || got[0].OutTradeNo != "RET001" || got[0].AmountFen != 8880 || got[0].Status != payrecon.OrderWaiting ||
		got[0].NextCheckAt.After(time.Now().Add(jobs.DefaultTiers()[0].Every)) {
		t.Fatalf("registered %+v", got)
	}
}

func orders(t *testing.T, db *store.DB, account string) []payrecon.ExpectedOrder {
	t.Helper()
	os, err := db.Orders(t.Context(), account, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return os
}

package main

import (
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/provider/sandbox/sandboxtest"
)

// TestSeveralAppsEndToEnd: one WeChat Pay merchant number serves two apps
// (config appid + appids). Every callback of either app is acknowledged by
// "payrecon serve", and "payrecon reconcile" finds exactly the day's
// planted faults, as for a single-app day.
func TestSeveralAppsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	fx := sandboxtest.New(t)
	apps := append([]string{fx.ID.WeChat.AppID}, fx.ID.WeChat.AppIDs...)
	if len(apps) < 2 {
		t.Fatal("the sandbox merchant has one app")
	}
	day := fx.GenerateDay(e2eDay, sandbox.DayOptions{Trades: 20, Seed: 11, Faults: true, AppIDs: apps})
	serveProviders(t, fx.Sandbox, fx.Config, sandbox.ServerFaults{}, day)
	addr, _, stop := startServe(t, fx.Config)
	// DeliverDays fails on any callback not answered as the provider expects.
	res, err := fx.DeliverDays(t.Context(), &http.Client{Timeout: 10 * time.Second}, "http://"+addr, io.Discard, day)
	if err != nil {
		t.Fatalf("%v: %v", err, res.Unexpected)
	}
	stop()

	out := runBin(t, bin, "reconcile", "-config", fx.Config, "-date", e2eDay.Format("2006-01-02"))
	got := discrepancyRows(t, filepath.Join(fx.Dir, "var", "reports", "sandbox-wx", e2eDay.Format("2006-01-02")+".xlsx"), out)
	want := expectedDiscrepancies(day, payrecon.WeChatPay)
	for _, w := range want {
		if !got[w] {
			t.Errorf("差异 lacks %s; has %v", w, keys(got))
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d discrepancy rows, want %d: %v", len(got), len(want), keys(got))
	}
	checkAppColumn(t, filepath.Join(fx.Dir, "var", "reports", "sandbox-wx", e2eDay.Format("2006-01-02")+".xlsx"), day)
}

// checkAppColumn: 明细 and 退款 show each bill row's app (应用ID), the one
// the trade was made in, and both apps appear.
func checkAppColumn(t *testing.T, path string, day *sandbox.Day) {
	t.Helper()
	app := map[string]string{}
	for _, tr := range day.Trades {
		if tr.Provider == payrecon.WeChatPay {
			app[tr.OutTradeNo] = tr.AppID
		}
	}
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[string]int{}
	for _, sheet := range []string{"明细", "退款"} {
		rows, err := f.GetRows(sheet)
		if err != nil || len(rows) < 2 {
			t.Fatalf("%s: %v, %d rows", sheet, err, len(rows))
		}
		col := slices.Index(rows[0], "应用ID")
		if col < 0 {
			t.Fatalf("%s has no 应用ID column: %q", sheet, rows[0])
		}
		for _, r := range rows[1:] {
			want, ok := app[r[0]]
			if !ok { // not a trade of the day's bill (a ghost: no bill row, no app)
				continue
			}
			if got := cell(r, col); got != want {
				t.Errorf("%s %s: 应用ID %q, want %q", sheet, r[0], got, want)
			}
			seen[want]++
		}
	}
	if len(seen) < 2 {
		t.Errorf("明细/退款 show apps %v, want both of the merchant's apps", seen)
	}
}

func cell(r []string, i int) string {
	if i < len(r) {
		return r[i]
	}
	return ""
}

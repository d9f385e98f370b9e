package main

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
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
	f, err := excelize.OpenFile(filepath.Join(fx.Dir, "var", "reports", "sandbox-wx", e2eDay.Format("2006-01-02")+".xlsx"))
	if err != nil {
		t.Fatalf("workbook: %v\n%s", err, out)
	}
	rows, err := f.GetRows("差异")
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, r := range rows[1:] {
		r = append(r, make([]string, 12)...)
		got[strings.Join([]string{r[0], r[2], r[3], r[5], r[6], r[7], r[10]}, "|")] = true
	}
	want := expectedDiscrepancies(day, payrecon.WeChatPay)
	for _, w := range want {
		if !got[w] {
			t.Errorf("差异 lacks %s; has %v", w, keys(got))
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d discrepancy rows, want %d: %v", len(got), len(want), keys(got))
	}
}

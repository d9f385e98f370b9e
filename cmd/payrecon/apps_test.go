package main

import (
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

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
}

package config

import (
	"strings"
	"testing"

	"github.com/payrecon/payrecon"
)

// TestStartDate: reconcile.start_date is a Beijing-time date; unset it is
// the zero day (go-live is then serve's first start).
func TestStartDate(t *testing.T) {
	cfg, err := readConfigText(t, minimalConfig)
	if err != nil {
		t.Fatal(err)
	}
	if !payrecon.Day(cfg.Reconcile.StartDate).IsZero() {
		t.Fatalf("start_date unset reads %v", payrecon.Day(cfg.Reconcile.StartDate))
	}
	cfg, err = readConfigText(t, strings.Replace(minimalConfig, "hold_days: 2", "hold_days: 2\n  start_date: 2026-11-20", 1))
	if err != nil {
		t.Fatal(err)
	}
	if got := payrecon.Day(cfg.Reconcile.StartDate); got != payrecon.NewDay(2026, 11, 20) {
		t.Fatalf("start_date reads %v", got)
	}
}

package config

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/payrecon/payrecon/jobs"
)

// minimalConfig is a valid config; Read does not read key files.
const minimalConfig = `listen: 127.0.0.1:8080
database: var/payrecon.db
timezone: Asia/Shanghai
reconcile:
  hold_days: 2
accounts:
  - name: shop
    provider: alipay
    app_id: "2021"
    app_private_key_file: keys/app.pem
    alipay_public_key_file: keys/alipay.txt
`

func readConfigText(t *testing.T, text string) (Config, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "payrecon.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return Read(p)
}

// TestConfigLineErrors: a typo or a value of the wrong form names the
// file, the line and the field, at the top level and inside a list.
func TestConfigLineErrors(t *testing.T) {
	for _, tc := range []struct {
		name, from, to string
		want           []string
	}{
		{"top-level typo", "timezone:", "timezon:", []string{`payrecon.yaml:3: unknown field "timezon"`}},
		{"nested typo", "app_id:", "app_idd:", []string{`payrecon.yaml:9: accounts[0]: unknown field "app_idd"`}},
		{"wrong type", "hold_days: 2", "hold_days: abc", []string{`payrecon.yaml:5: reconcile.hold_days: want an integer (got "abc")`}},
		{"typed value", "hold_days: 2", "hold_days: 2\n  bill_deadline: 4 hours", []string{`payrecon.yaml:6: reconcile.bill_deadline: want a duration such as 10m or 200ms (got "4 hours")`}},
		{"bad start date", "hold_days: 2", "hold_days: 2\n  start_date: 2026/11/20", []string{`payrecon.yaml:6: reconcile.start_date: want a date such as 2026-11-20 (got "2026/11/20")`}},
		{"bad rate in a list", "provider: alipay", "provider: alipay\n    fee_rate: 0.6", []string{`payrecon.yaml:9: accounts[0].fee_rate: want a percentage such as 0.60% (got "0.6")`}},
		{"list where a value goes", "timezone: Asia/Shanghai", "timezone: [Asia/Shanghai]", []string{`payrecon.yaml:3: timezone: want a string (got a list)`}},
		{"set twice", "timezone: Asia/Shanghai", "timezone: Asia/Shanghai\ntimezone: UTC", []string{`payrecon.yaml:4: field "timezone" is set twice`}},
		{"every error", "timezone:", "timezon:", []string{`payrecon.yaml:3: unknown field "timezon"`, `payrecon.yaml:5: reconcile.hold_days: want an integer`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := strings.Replace(minimalConfig, tc.from, tc.to, 1)
			if tc.name == "every error" {
				text = strings.Replace(text, "hold_days: 2", "hold_days: x", 1)
			}
			_, err := readConfigText(t, text)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v\nwant it to contain %s", err, w)
				}
			}
			if strings.Contains(err.Error(), "main.") || strings.Contains(err.Error(), "not found in type") {
				t.Errorf("err = %v shows Go types", err)
			}
		})
	}
}

// TestConfigTypedValues: values are parsed once, into their types, with
// the accepted syntax unchanged; a null value keeps the default.
func TestConfigTypedValues(t *testing.T) {
	cfg, err := readConfigText(t, `memory_limit: 1GiB
reconcile:
  bill_retry_interval: 90s
  bill_deadline:
delivery:
  alerts:
    callback_health_min: "99.5%"
    dedup_window: 1h
sweep:
  interval: 1m
  tiers: "30s/5m, 5m/2h"
accounts:
  - name: shop
    provider: alipay
    fee_rate: 0.60%
    app_id: "2021"
    app_private_key_file: keys/app.pem
    alipay_public_key_file: keys/alipay.txt
`)
	if err != nil {
		t.Fatal(err)
	}
	def := Default()
	if cfg.MemoryLimit != 1<<30 || cfg.Reconcile.BillRetryInterval != Duration(90*time.Second) ||
		cfg.Reconcile.BillDeadline != def.Reconcile.BillDeadline || cfg.Delivery.Alerts.CallbackHealthMin != 9950 ||
		cfg.Delivery.Alerts.DedupWindow != Duration(time.Hour) || cfg.Delivery.Alerts.RejectedWindow != def.Delivery.Alerts.RejectedWindow ||
		cfg.Sweep.Interval != Duration(time.Minute) || cfg.Accounts[0].FeeRate != 60 {
		t.Fatalf("cfg = %+v", cfg)
	}
	want := Tiers{{Every: 30 * time.Second, Until: 5 * time.Minute}, {Every: 5 * time.Minute, Until: 2 * time.Hour}}
	if !slices.Equal(cfg.Sweep.Tiers, want) {
		t.Fatalf("tiers = %v, want %v", cfg.Sweep.Tiers, want)
	}
	if !slices.Equal(def.Sweep.Tiers, jobs.DefaultTiers()) || def.MemoryLimit != 256<<20 || def.Delivery.Alerts.CallbackHealthMin != 9500 {
		t.Fatalf("defaults = %+v", def)
	}
}

// TestValueSyntax pins the accepted syntax of the typed values: it is part
// of the config contract.
func TestValueSyntax(t *testing.T) {
	for _, tc := range []struct {
		text string
		into interface{ UnmarshalYAML(*yaml.Node) error }
		want any // nil: rejected
	}{
		{"10m", new(Duration), Duration(10 * time.Minute)},
		{"0", new(Duration), Duration(0)},
		{"20", new(Duration), nil},
		{"0.60%", new(Rate), Rate(60)},
		{`" 95% "`, new(Rate), Rate(9500)},
		{`""`, new(Rate), Rate(0)},
		{"0.6", new(Rate), nil},
		{"100.01%", new(Rate), nil},
		{"256MiB", new(ByteSize), ByteSize(256 << 20)},
		{"1 GiB", new(ByteSize), ByteSize(1 << 30)},
		{"4096", new(ByteSize), ByteSize(4096)},
		{"off", new(ByteSize), ByteSize(0)},
		{"lots", new(ByteSize), nil},
		{"1m/10m,10m/1h", new(Tiers), Tiers{{Every: time.Minute, Until: 10 * time.Minute}, {Every: 10 * time.Minute, Until: time.Hour}}},
		{"10m/1m", new(Tiers), nil},
		{"1m/1h, 1m/10m", new(Tiers), nil},
		{`""`, new(Tiers), nil},
		{"[1m]", new(Duration), nil},
	} {
		err := yaml.Unmarshal([]byte(tc.text), tc.into)
		got := reflect.ValueOf(tc.into).Elem().Interface()
		switch {
		case tc.want == nil && err == nil:
			t.Errorf("%s into %T: accepted as %v", tc.text, tc.into, got)
		case tc.want != nil && err != nil:
			t.Errorf("%s into %T: %v", tc.text, tc.into, err)
		case tc.want != nil && !reflect.DeepEqual(got, tc.want):
			t.Errorf("%s into %T = %v, want %v", tc.text, tc.into, got, tc.want)
		}
	}
}

package config

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const forwardConfig = minimalConfig + `forward:
  - name: shop-backend
    url: https://shop.internal/payrecon/events
    secret_file: keys/forward.secret
    accounts: [shop]
    timeout: 3s
    retry_schedule: [1s, 2m]
`

// TestForwardConfig: the YAML contract reads into typed fields,
// and an entry without timeout or schedule gets the defaults.
func TestForwardConfig(t *testing.T) {
	cfg, err := readConfigText(t, forwardConfig+"  - name: other\n    url: http://127.0.0.1:9/x\n    secret_file: env:FW\n")
	if err != nil {
		t.Fatal(err)
	}
	f := cfg.Forward[0]
	if f.Name != "shop-backend" || f.TimeoutOrDefault() != 3*time.Second || len(f.Accounts) != 1 {
		t.Fatalf("forward[0] = %+v", f)
	}
	if s := f.Schedule(); len(s) != 2 || s[0] != time.Second || s[1] != 2*time.Minute {
		t.Fatalf("schedule = %v", s)
	}
	o := cfg.Forward[1]
	if o.TimeoutOrDefault() != DefaultForwardTimeout || len(o.Schedule()) != 7 || o.Schedule()[6] != 10*time.Hour {
		t.Fatalf("defaults: %+v %v", o, o.Schedule())
	}
}

// TestForwardConfigErrors: every bad value names its field.
func TestForwardConfigErrors(t *testing.T) {
	for _, tc := range []struct{ name, from, to, want string }{
		{"http to a public host", "https://shop.internal", "http://shop.example.com", "forward[0].url: http only for loopback or private addresses"},
		{"http to a public IP", "https://shop.internal", "http://8.8.8.8", "forward[0].url: http only for loopback or private addresses"},
		{"ftp", "https://shop.internal", "ftp://shop.internal", "forward[0].url: want https"},
		{"no URL", "url: https://shop.internal/payrecon/events", "url: \"\"", "forward[0].url: want an absolute https URL"},
		{"credentials in URL", "https://shop.internal", "https://u:p@shop.internal", "forward[0].url: want an absolute https URL without credentials"},
		{"unknown account", "accounts: [shop]", "accounts: [shop, nope]", `forward[0].accounts[1]: no account named "nope"`},
		{"bad schedule", "[1s, 2m]", "[1s, soon]", `forward[0].retry_schedule: [1]: want a duration such as 10m or 200ms (got "soon")`},
		{"zero schedule step", "[1s, 2m]", "[1s, 0s]", "forward[0].retry_schedule[1]: want a duration above 0"},
		{"schedule not a list", "[1s, 2m]", "1s", "forward[0].retry_schedule: want a list of durations"},
		{"no secret", "secret_file: keys/forward.secret", "secret_file: \"\"", "forward[0].secret_file: required"},
		{"typo", "timeout: 3s", "timeuot: 3s", `forward[0]: unknown field "timeuot"`},
		{"bad name", "name: shop-backend", "name: \"shop backend\"", "forward[0].name: want letters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := strings.Replace(forwardConfig, tc.from, tc.to, 1)
			_, err := readConfigText(t, text)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant it to contain %s", err, tc.want)
			}
		})
	}
}

// TestForwardSecret: the secret must be whsec_ + base64 of 24–64 bytes;
// errors name the field and never show the secret.
func TestForwardSecret(t *testing.T) {
	good := "whsec_" + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32)))
	for _, tc := range []struct{ name, secret, want string }{
		{"good", good + "\n", ""},
		{"no prefix", base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32))), "no whsec_ prefix"},
		{"not base64", "whsec_!!!notbase64!!!", "not valid base64"},
		{"too short", "whsec_" + base64.StdEncoding.EncodeToString([]byte("short-secret-sixteen")), "24 to 64 bytes (got 20 bytes)"},
		{"too long", "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 65)), "24 to 64 bytes (got 65 bytes)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "payrecon.yaml")
			os.MkdirAll(filepath.Join(dir, "keys"), 0o700)
			if err := os.WriteFile(filepath.Join(dir, "keys", "forward.secret"), []byte(tc.secret), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(forwardConfig), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := Read(p)
			if err != nil {
				t.Fatal(err)
			}
			key, err := cfg.ForwardSecret(0, os.Getenv)
			if tc.want == "" {
				if err != nil || len(key) != 32 {
					t.Fatalf("key %d bytes, err %v", len(key), err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "forward[0].secret_file: ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want forward[0].secret_file: …%s", err, tc.want)
			}
			if strings.Contains(err.Error(), strings.TrimPrefix(tc.secret, "whsec_")) {
				t.Fatalf("err shows the secret: %v", err)
			}
		})
	}
}

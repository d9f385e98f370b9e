package config

import (
	"strings"
	"testing"
)

// TestReviewConfig: named operators and the write-off tolerance are read;
// each mistake names its field; operator token files are secrets.
func TestReviewConfig(t *testing.T) {
	cfg, err := readConfigText(t, minimalConfig+`admin:
  token_file: keys/admin.token
  operators:
    - name: li
      token_file: keys/li.token
review:
  write_off_max_fen: 100
`)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Review.WriteOffMaxFen != 100 || len(cfg.Admin.Operators) != 1 || cfg.Admin.Operators[0].Name != "li" {
		t.Fatalf("read: %+v %+v", cfg.Review, cfg.Admin)
	}
	secret := false
	for _, f := range cfg.Files() {
		if f.Field == "admin.operators[0].token_file" {
			secret = f.Secret
		}
	}
	if !secret {
		t.Fatalf("the operator's token file is not listed as a secret: %+v", cfg.Files())
	}
	_, err = readConfigText(t, minimalConfig+`admin:
  operators:
    - name: li
      token_file: keys/li.token
    - name: li
    - name: "bad name"
      token_file: x
review:
  write_off_max_fen: -1
`)
	for _, want := range []string{`admin.operators[1].name: duplicate operator "li"`, "admin.operators[1].token_file: required",
		"admin.operators[2].name: want letters", "review.write_off_max_fen: want 0 or more fen (got -1)"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

package main

import (
	"encoding/json"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon/provider/sandbox/sandboxtest"
)

// TestQuarantineCommand: while serve runs, `payrecon quarantine` lists the
// notifications it rejected, filtered by account, reason and time, and
// shows one with its allow-listed headers and a body preview (a credential
// header the sender added is never shown); bad flags are refused clearly.
func TestQuarantineCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	bin := buildBinary(t)
	fx := sandboxtest.New(t)
	_, addr, _ := startChild(t, bin, fx.Config)
	client := &http.Client{Timeout: 10 * time.Second}
	hdr := http.Header{"Authorization": {"Bearer sekret-token"}, "Cookie": {"session=sekret"}, "Content-Type": {"application/x-www-form-urlencoded"}}
	for range 3 {
		if got := post(client, "http://"+addr+"/notify/sandbox-ali", hdr, []byte("notify_id=forged&out_trade_no=A1&sign=Zm9yZ2Vk&sign_type=RSA2")); got/100 != 4 {
			t.Fatalf("forged: status %d", got)
		}
	}
	if got := post(client, "http://"+addr+"/notify/nobody", hdr, []byte("x=1")); got/100 != 4 {
		t.Fatalf("unknown account: status %d", got)
	}

	lines := strings.Split(strings.TrimSpace(runBin(t, bin, "quarantine", "-config", fx.Config, "-json")), "\n")
	if len(lines) != 4 {
		t.Fatalf("want 4 rejected notifications, got:\n%s", strings.Join(lines, "\n"))
	}
	var rec struct {
		ID      int64
		Account string
		Reason  string
	}
	ali := runBin(t, bin, "quarantine", "-config", fx.Config, "-account", "sandbox-ali", "-since", "1h", "-json")
	if n := strings.Count(ali, "\n"); n != 3 || strings.Contains(ali, "nobody") {
		t.Fatalf("-account sandbox-ali:\n%s", ali)
	}
	json.Unmarshal([]byte(strings.SplitN(ali, "\n", 2)[0]), &rec)
	text := runBin(t, bin, "quarantine", "-config", fx.Config, "-reason", rec.Reason)
	if !strings.Contains(text, "REASON") || strings.Count(text, rec.Reason) != 3 {
		t.Fatalf("-reason %s:\n%s", rec.Reason, text)
	}
	one := runBin(t, bin, "quarantine", "-config", fx.Config, "-id", strconv.FormatInt(rec.ID, 10))
	for _, want := range []string{"account:     sandbox-ali", "reason:      " + rec.Reason, "Content-Type: application/x-www-form-urlencoded", "notify_id=forged&out_trade_no=A1"} {
		if !strings.Contains(one, want) {
			t.Errorf("-id %d lacks %q:\n%s", rec.ID, want, one)
		}
	}
	if strings.Contains(one, "sekret") {
		t.Errorf("-id shows a credential header:\n%s", one)
	}
	if old := runBin(t, bin, "quarantine", "-config", fx.Config, "-since", time.Now().Add(time.Hour).Format(time.RFC3339)); !strings.Contains(old, "no rejected notifications match") {
		t.Errorf("-since the future:\n%s", old)
	}
	for _, c := range []struct{ args, want string }{
		{"-reason nope", `-reason: want one of probe, bad_signature`},
		{"-since yesterday", `-since: want a positive duration such as 1h or an RFC 3339 time (got "yesterday")`},
		{"-id 999999", "-id: no rejected notification 999999 in the quarantine"},
	} {
		cmd := exec.Command(bin, append([]string{"quarantine", "-config", fx.Config}, strings.Fields(c.args)...)...)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), c.want) {
			t.Errorf("%s: %v\n%s", c.args, err, out)
		}
	}
}

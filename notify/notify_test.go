package notify_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/notify"
	"github.com/payrecon/payrecon/provider/alipay"
	"github.com/payrecon/payrecon/provider/keyfile"
	"github.com/payrecon/payrecon/provider/providertest"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/provider/sandbox/sandboxtest"
	"github.com/payrecon/payrecon/provider/wechatpay"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// testSandbox loads the committed sandbox fixture.
func testSandbox(t testing.TB) *sandbox.Sandbox {
	t.Helper()
	return sandboxtest.New(t).Sandbox
}

// intake serves the notify handler on a real loopback listener over a real
// ledger file.
func intake(t *testing.T, accounts []notify.Account) (*httptest.Server, *store.DB) {
	t.Helper()
	db := storetest.MustOpen(t, store.Options{})
	mux := http.NewServeMux()
	mux.Handle("/notify/{account}", notify.Handler(accounts, db, notify.Options{MaxBody: 64 << 10}, storetest.Logger(t)))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, db
}

func sandboxAccounts(sb *sandbox.Sandbox) []notify.Account {
	a, w := sb.Verifiers(time.Now)
	return []notify.Account{
		{Name: sb.ID.Alipay.Account, Provider: payrecon.Alipay, Verifier: notify.AlipayVerifier{V: a}},
		{Name: sb.ID.WeChat.Account, Provider: payrecon.WeChatPay, Verifier: w},
	}
}

// TestSandboxScenarios fires every sandbox scenario (valid notifications of
// each kind, duplicates, parallel copies, out-of-order pairs, forgeries,
// tampering, probes, skew, wrong merchant, oversize, wrong method) through
// the real handler, then checks each reply, the ledger and the quarantine.
func TestSandboxScenarios(t *testing.T) {
	sb := testSandbox(t)
	srv, db := intake(t, sandboxAccounts(sb))
	scs, err := sb.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	res, err := sandbox.Fire(t.Context(), srv.Client(), srv.URL, scs, &log)
	t.Log(log.String())
	if err != nil {
		t.Fatalf("%v: %v", err, res.Unexpected)
	}
	trades, err := db.Trades(t.Context(), store.TradeFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range sandbox.Check(res.Expect, trades) {
		t.Error(bad)
	}
	// The ledger holds exactly the expected trades, every one learned from
	// its notification: nothing else got in.
	expected := map[string]bool{}
	for _, e := range res.Expect {
		if e.Status != "" {
			expected[e.Account+"/"+e.OutTradeNo] = true
		}
	}
	for _, tr := range trades {
		if key := tr.Account + "/" + tr.OutTradeNo; !expected[key] {
			t.Errorf("%s: in the ledger, expected by no scenario: %+v", key, tr)
		} else if tr.Source != payrecon.SourceNotify {
			t.Errorf("%s: source %s", key, tr.Source)
		}
	}
	// Quarantine holds exactly the rejected deliveries, by reason.
	want := map[string]int64{}
	for _, sc := range scs {
		for _, step := range sc.Steps {
			for _, d := range step {
				if !d.WantAccepted {
					want[d.WantReason]++
				}
			}
		}
	}
	q, err := db.QuarantineByReason(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, r := range q {
		got[r.Reason] += r.Count
	}
	if !maps.Equal(got, want) {
		t.Errorf("quarantine by reason = %v, want %v", got, want)
	}
	c, err := db.Count(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if int64(res.Accepted) != c.Deliveries {
		t.Errorf("acknowledged %d, ledger recorded %d deliveries", res.Accepted, c.Deliveries)
	}
}

// TestLedgerUnavailable: a notification that cannot be made durable is not
// acknowledged, so the provider retries.
func TestLedgerUnavailable(t *testing.T) {
	sb := testSandbox(t)
	db := storetest.MustOpen(t, store.Options{})
	h := notify.Handler(sandboxAccounts(sb), db, notify.Options{}, storetest.Logger(t))
	db.Close()
	body, err := sb.SignAlipay(sb.AlipayTradeParams(sandbox.AlipayTrade{OutTradeNo: "x1", TradeNo: "2026x1", Amount: 1, Status: "TRADE_SUCCESS", Paid: time.Now()}), sandbox.AlipayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/notify/"+sb.ID.Alipay.Account, bytes.NewReader(body))
	req.SetPathValue("account", sb.ID.Alipay.Account)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusInternalServerError || rec.Body.String() == alipay.ReplySuccess {
		t.Fatalf("got %d %q, want 500 and no success", rec.Code, rec.Body.String())
	}
}

// TestRejectLeavesLedgerUntouched checks the raw quarantine record of a
// forged notification and that nothing else was written.
func TestRejectLeavesLedgerUntouched(t *testing.T) {
	sb := testSandbox(t)
	srv, db := intake(t, sandboxAccounts(sb))
	body, err := sb.SignAlipay(sb.AlipayTradeParams(sandbox.AlipayTrade{OutTradeNo: "f1", TradeNo: "2026f1", Amount: 100, Status: "TRADE_SUCCESS", Paid: time.Now()}), sandbox.AlipayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	body = bytes.Replace(body, []byte("total_amount=1.00"), []byte("total_amount=2.00"), 1)
	resp, err := srv.Client().Post(srv.URL+"/notify/"+sb.ID.Alipay.Account, "application/x-www-form-urlencoded", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != alipay.ReplyFailure {
		t.Fatalf("reply %q", b)
	}
	c, _ := db.Count(t.Context())
	if c.Quarantined != 1 || c.Notifications != 0 || c.Trades != 0 {
		t.Fatalf("counts = %+v", c)
	}
}

// TestPublicAlipayVectors sends every public Alipay notification vector
// through the real handler: each gets "success" and its ledger row; a copy
// with one amount byte changed gets "failure" and changes nothing.
func TestPublicAlipayVectors(t *testing.T) {
	cases, keys := providertest.AlipayNotifyVectors(t)
	var accounts []notify.Account
	for i, v := range cases {
		accounts = append(accounts, notify.Account{Name: v.ID, Provider: payrecon.Alipay,
			Verifier: notify.AlipayVerifier{V: &alipay.Verifier{Account: v.ID, AppID: v.Params["app_id"], SellerID: v.Params["seller_id"],
				Keys: []alipay.Key{{Name: "public-key", Pub: keys[i]}}}}})
	}
	srv, db := intake(t, accounts)
	for _, v := range cases {
		t.Run(v.ID, func(t *testing.T) {
			form := url.Values{}
			for k, val := range v.Params {
				form.Set(k, val)
			}
			// One amount byte changed: rejected, nothing written.
			amountKey := "total_amount"
			if _, ok := v.Params[amountKey]; !ok {
				amountKey = "total_price"
			}
			bad := url.Values{}
			for k, val := range form {
				bad[k] = val
			}
			amt := []byte(v.Params[amountKey])
			amt[len(amt)-1] = '9' - (amt[len(amt)-1]-'0')%9
			bad.Set(amountKey, string(amt))
			before, _ := db.Count(t.Context())
			if got := postForm(t, srv, v.ID, bad); got != alipay.ReplyFailure {
				t.Fatalf("tampered %s: reply %q", amountKey, got)
			}
			after, _ := db.Count(t.Context())
			if after.Notifications != before.Notifications || after.Trades != before.Trades || after.Quarantined != before.Quarantined+1 {
				t.Fatalf("tampered copy changed the ledger: %+v -> %+v", before, after)
			}

			if got := postForm(t, srv, v.ID, form); got != alipay.ReplySuccess {
				t.Fatalf("reply %q", got)
			}
			trades, err := db.Trades(t.Context(), store.TradeFilter{Account: v.ID})
			if err != nil {
				t.Fatal(err)
			}
			if v.Params["trade_status"] == "" {
				if len(trades) != 0 {
					t.Fatalf("message without trade_status made trades: %+v", trades)
				}
				return
			}
			want, _ := payrecon.ParseYuan(v.Params["total_amount"])
			if len(trades) != 1 || trades[0].OutTradeNo != v.Params["out_trade_no"] || trades[0].ProviderTradeNo != v.Params["trade_no"] ||
				trades[0].Status != payrecon.StatusPaid || trades[0].AmountFen != want || trades[0].PaidAt == nil {
				t.Fatalf("ledger = %+v", trades)
			}
		})
	}
}

func postForm(t *testing.T, srv *httptest.Server, account string, form url.Values) string {
	t.Helper()
	resp, err := srv.Client().Post(srv.URL+"/notify/"+account, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestPublicWeChatVectors sends the public APIv3 callbacks (2021 timestamps,
// clock injected) through the real handler, then a copy with one
// ciphertext byte changed.
func TestPublicWeChatVectors(t *testing.T) {
	dir := filepath.Join(providertest.SamplesDir(t), "wechatpay", "apiv3")
	var v struct {
		APIv3Key string            `json:"apiv3_key"`
		Headers  map[string]string `json:"headers"`
		Body     string            `json:"body"`
		CertPEM  string            `json:"platform_certificate_pem"`
	}
	read := func(name string) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
	}
	read("notify_gunsluo_transaction_success.json")
	pub, err := keyfile.ParsePublicKey([]byte(v.CertPEM))
	if err != nil {
		t.Fatal(err)
	}
	ver := &wechatpay.Verifier{Account: "wx", MchID: "1601959334", AppID: "wx81be3101902f7cb2", APIv3Key: []byte(v.APIv3Key),
		Keys: map[string]*rsa.PublicKey{"9AD59953ADF1BABB": pub}, Now: func() time.Time { return time.Unix(1611368330, 0) }}
	srv, db := intake(t, []notify.Account{{Name: "wx", Provider: payrecon.WeChatPay, Verifier: ver}})
	post := func(body string) int {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL+"/notify/wx", strings.NewReader(body))
		for k, val := range v.Headers {
			req.Header.Set(k, val)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, name := range []string{"notify_gunsluo_transaction_success.json", "notify_gunsluo_refund_success.json"} {
		read(name)
		i := strings.Index(v.Body, `"ciphertext":"`) + len(`"ciphertext":"`) + 10
		bad := v.Body[:i] + string(v.Body[i]^1) + v.Body[i+1:]
		if code := post(bad); code < 400 {
			t.Fatalf("%s tampered: status %d", name, code)
		}
		if code := post(v.Body); code != http.StatusNoContent {
			t.Fatalf("%s: status %d", name, code)
		}
	}
	trades, err := db.Trades(t.Context(), store.TradeFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(trades) != 1 || trades[0].OutTradeNo != "S20210128170702357723" || trades[0].Status != payrecon.StatusRefunded ||
		trades[0].AmountFen != 1 || trades[0].RefundedFen != 1 || trades[0].ProviderTradeNo != "4200000925202101284997714292" {
		t.Fatalf("ledger = %+v", trades)
	}
	if c, _ := db.Count(t.Context()); c.Quarantined != 2 {
		t.Fatalf("quarantined %d, want 2", c.Quarantined)
	}
}

// TestPublicV2RefundPlaintext wraps the published decrypted refund req_info
// in an APIv2 refund notification under a test key.
func TestPublicV2RefundPlaintext(t *testing.T) {
	pt, err := os.ReadFile(filepath.Join(providertest.SamplesDir(t), "wechatpay", "apiv2", "refund_req_info_plaintext_sample_wechatpay-php.xml"))
	if err != nil {
		t.Fatal(err)
	}
	key := []byte("0123456789abcdef0123456789abcdef")
	ver := &wechatpay.Verifier{Account: "wx2", MchID: "10000100", AppID: "wx2421b1c4370ec43b", APIv2Key: key, Now: time.Now}
	srv, db := intake(t, []notify.Account{{Name: "wx2", Provider: payrecon.WeChatPay, Verifier: ver}})
	body := "<xml><return_code>SUCCESS</return_code><appid><![CDATA[wx2421b1c4370ec43b]]></appid><mch_id>10000100</mch_id>" +
		"<nonce_str>abc</nonce_str><req_info><![CDATA[" + wechatpay.EncryptReqInfo(key, pt) + "]]></req_info></xml>"
	resp, err := srv.Client().Post(srv.URL+"/notify/wx2", "text/xml", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "SUCCESS") {
		t.Fatalf("reply %s", b)
	}
	trades, _ := db.Trades(t.Context(), store.TradeFilter{})
	if len(trades) != 1 || trades[0].OutTradeNo != "71106718111915575302817" || trades[0].RefundedFen != 3960 || trades[0].Status != payrecon.StatusRefunded {
		t.Fatalf("ledger = %+v", trades)
	}
}

package sandbox_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/payrecon/payrecon/provider/keyfile"
	"github.com/payrecon/payrecon/provider/providertest"
	"github.com/payrecon/payrecon/provider/wechatpay"
)

// TestReproducesPublicVectors: where a vector's private key is public, the
// signing the sandbox uses reproduces the provider's bytes exactly (RSA
// PKCS#1 v1.5 and AES-GCM with a given nonce are deterministic).
func TestReproducesPublicVectors(t *testing.T) {
	dir := filepath.Join(providertest.SamplesDir(t), "wechatpay", "apiv3")
	kb, err := os.ReadFile(filepath.Join(dir, "gunsluo_mock_private_key_pkcs8.pem"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := keyfile.ParsePrivateKey(kb)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"notify_gunsluo_transaction_success.json", "notify_gunsluo_refund_success.json"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			APIv3Key string            `json:"apiv3_key"`
			Headers  map[string]string `json:"headers"`
			Body     string            `json:"body"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		sig, err := wechatpay.SignSHA256(key, wechatpay.Message(v.Headers["Wechatpay-Timestamp"], v.Headers["Wechatpay-Nonce"], []byte(v.Body)))
		if err != nil {
			t.Fatal(err)
		}
		if sig != v.Headers["Wechatpay-Signature"] {
			t.Errorf("%s: signature not reproduced", name)
		}
		var env struct {
			Resource struct {
				Ciphertext     string `json:"ciphertext"`
				Nonce          string `json:"nonce"`
				AssociatedData string `json:"associated_data"`
			} `json:"resource"`
		}
		if err := json.Unmarshal([]byte(v.Body), &env); err != nil {
			t.Fatal(err)
		}
		r := env.Resource
		pt, err := wechatpay.DecryptGCM([]byte(v.APIv3Key), r.Nonce, r.AssociatedData, r.Ciphertext)
		if err != nil {
			t.Fatal(err)
		}
		ct, err := wechatpay.EncryptGCM([]byte(v.APIv3Key), r.Nonce, r.AssociatedData, pt)
		if err != nil || ct != r.Ciphertext {
			t.Errorf("%s: ciphertext not reproduced (%v)", name, err)
		}
	}

	b, err := os.ReadFile(filepath.Join(dir, "request_authorization_gunsluo.json"))
	if err != nil {
		t.Fatal(err)
	}
	var a struct {
		Method, CanonicalURL, Body, Authorization string
	}
	var raw map[string]any
	json.Unmarshal(b, &raw)
	a.Method, a.CanonicalURL, a.Body, a.Authorization = raw["method"].(string), raw["canonical_url"].(string), raw["body"].(string), raw["authorization"].(string)
	field := func(k string) string {
		m := regexp.MustCompile(k + `="([^"]*)"`).FindStringSubmatch(a.Authorization)
		if m == nil {
			t.Fatalf("no %s in %s", k, a.Authorization)
		}
		return m[1]
	}
	got, err := wechatpay.Authorization(key, field("mchid"), field("serial_no"), a.Method, a.CanonicalURL, field("timestamp"), field("nonce_str"), []byte(a.Body))
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`signature="([^"]*)"`).FindStringSubmatch(got); m == nil || m[1] != field("signature") {
		t.Errorf("request signature not reproduced:\n got %s\nwant %s", got, a.Authorization)
	}
}

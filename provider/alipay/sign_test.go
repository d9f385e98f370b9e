package alipay_test

import (
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/payrecon/payrecon/provider/alipay"
	"github.com/payrecon/payrecon/provider/keyfile"
	"github.com/payrecon/payrecon/provider/providertest"
)

// TestSampleVectors rebuilds the sign content of every public notification
// vector and verifies its signature with the published key.
func TestSampleVectors(t *testing.T) {
	vs, keys := providertest.AlipayNotifyVectors(t)
	for i, v := range vs {
		t.Run(v.ID, func(t *testing.T) {
			params := url.Values{}
			for k, val := range v.Params {
				params.Set(k, val)
			}
			keep := v.Kind == "notify_v2"
			got := alipay.SignContent(params, keep)
			if got != v.SignContent {
				t.Fatalf("sign content\n got %s\nwant %s", got, v.SignContent)
			}
			if err := alipay.Verify(keys[i], alipay.SignType(v.SignType), []byte(got), v.Sign); err != nil {
				t.Fatalf("verify: %v", err)
			}
			// The other rule must fail: V1 and V2 are distinct.
			if err := alipay.Verify(keys[i], alipay.SignType(v.SignType), []byte(alipay.SignContent(params, !keep)), v.Sign); err == nil {
				t.Fatal("verified under the wrong rule")
			}
		})
	}
}

func TestCertSNVectors(t *testing.T) {
	dir := filepath.Join(providertest.SamplesDir(t), "alipay", "keys")
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	app, err := keyfile.ParseCertificates(read("yansongda_sandbox_appPublicCert.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := alipay.CertSN(app[0]), "e90dd23a37c5c7b616e003970817ff82"; got != want {
		t.Errorf("app_cert_sn = %s, want %s", got, want)
	}
	root, err := keyfile.ParseCertificates(read("yansongda_alipayRootCert.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := alipay.RootCertSN(root), "687b59193f3f462dd5336e5abf83c5d8_02941eef3187dddf3d3b83462e1dfcf6"; got != want {
		t.Errorf("alipay_root_cert_sn = %s, want %s", got, want)
	}
}

func TestSignContentRules(t *testing.T) {
	p := url.Values{
		"b": {"2"}, "a": {"x+y %41"}, "sign": {"S"}, "sign_type": {"RSA2"}, "empty": {""},
	}
	if got, want := alipay.SignContent(p, false), "a=x+y %41&b=2"; got != want {
		t.Errorf("V1 = %q, want %q", got, want)
	}
	if got, want := alipay.SignContent(p, true), "a=x+y %41&b=2&sign_type=RSA2"; got != want {
		t.Errorf("V2 = %q, want %q", got, want)
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	k := providertest.Key(t, 0)
	for _, st := range []alipay.SignType{alipay.RSA2, alipay.RSA} {
		sig, err := alipay.Sign(k, st, []byte("a=1"))
		if err != nil {
			t.Fatal(err)
		}
		if err := alipay.Verify(&k.PublicKey, st, []byte("a=1"), sig); err != nil {
			t.Errorf("%s: %v", st, err)
		}
		if err := alipay.Verify(&k.PublicKey, st, []byte("a=2"), sig); err == nil {
			t.Errorf("%s: changed content verified", st)
		}
	}
	if _, err := alipay.Sign(k, "MD5", []byte("a")); err == nil {
		t.Error("unknown sign type accepted")
	}
}

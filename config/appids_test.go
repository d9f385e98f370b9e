package config

import (
	"slices"
	"strings"
	"testing"
)

const wxConfig = `listen: 127.0.0.1:8080
database: var/payrecon.db
timezone: Asia/Shanghai
accounts:
  - name: shop-wx
    provider: wechatpay
    mchid: "1900000001"
    appid: wx0000000000000001
    appids: [wx0000000000000002, wx0000000000000003]
    merchant_serial: "ABC"
    merchant_private_key_file: keys/apiclient_key.pem
    apiv3_key_file: keys/apiv3.key
    platform_cert_files: [keys/platform.pem]
`

// TestAppIDs: a WeChat Pay account lists several apps; each must be an id,
// none twice, and only on a WeChat Pay account.
func TestAppIDs(t *testing.T) {
	cfg, err := readConfigText(t, wxConfig)
	if err != nil {
		t.Fatal(err)
	}
	if a := cfg.Accounts[0]; a.WxAppID != "wx0000000000000001" || !slices.Equal(a.WxAppIDs, []string{"wx0000000000000002", "wx0000000000000003"}) {
		t.Fatalf("appid %q appids %q", a.WxAppID, a.WxAppIDs)
	}
	for _, tc := range []struct{ name, from, to, want string }{
		{"twice", "wx0000000000000003]", "wx0000000000000001]", "accounts[0].appids[1]: wx0000000000000001 is listed twice"},
		{"empty", "wx0000000000000003]", `""]`, `accounts[0].appids[1]: want an appid such as wx0000000000000001 (got "")`},
		{"not a list", "[wx0000000000000002, wx0000000000000003]", "wx0000000000000002", "accounts[0].appids: want a list"},
		{"on alipay", "provider: wechatpay", "provider: alipay", "accounts[0].appids: is a WeChat Pay field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readConfigText(t, strings.Replace(wxConfig, tc.from, tc.to, 1))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant it to contain %s", err, tc.want)
			}
		})
	}
}

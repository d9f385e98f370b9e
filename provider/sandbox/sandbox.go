// Package sandbox emulates the Alipay and WeChat Pay servers for a sandbox
// merchant: it owns the provider-side private keys, signs notifications with
// the same rules the real providers use, and fires them (with deliberate
// faults) at a running payrecon. The demo, the tests and the benchmarks use
// it as "the outside world".
//
// Init writes a directory:
//
//	payrecon.yaml        a config for payrecon pointing at the sandbox merchant
//	keys/                the merchant-side files payrecon reads
//	sandbox/             the provider side: private keys and identity (never given to payrecon)
package sandbox

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/payrecon/payrecon/provider/alipay"
	"github.com/payrecon/payrecon/provider/keyfile"
	"github.com/payrecon/payrecon/provider/wechatpay"
)

// Identity is the sandbox merchant at both providers.
type Identity struct {
	Alipay struct {
		Account  string `json:"account"`
		AppID    string `json:"app_id"`
		SellerID string `json:"seller_id"`
	} `json:"alipay"`
	WeChat struct {
		Account string `json:"account"`
		MchID   string `json:"mchid"`
		AppID   string `json:"appid"`
		// AppIDs are the merchant's further apps on the same merchant
		// number (a mini-program beside the official account).
		AppIDs         []string `json:"appids,omitempty"`
		MerchantSerial string   `json:"merchant_serial"`
		PublicKeyID    string   `json:"public_key_id"`
		PlatformSerial string   `json:"platform_serial"`
	} `json:"wechatpay"`
}

// Sandbox holds the provider-side secrets of a sandbox directory.
type Sandbox struct {
	Dir string
	ID  Identity

	alipayKey     *rsa.PrivateKey // Alipay's signing key
	wxPubKey      *rsa.PrivateKey // WeChat Pay public-key mode key
	wxPlatformKey *rsa.PrivateKey // WeChat Pay platform certificate key
	apiv3Key      []byte
	apiv2Key      []byte

	// Now is the clock used for timestamps (default time.Now).
	Now func() time.Time
}

// InitOptions choose the addresses written into the config.
type InitOptions struct {
	// Listen is payrecon's listen address (default 127.0.0.1:8080).
	Listen string
	// ServerURL is where the sandbox provider server will listen (default
	// http://127.0.0.1:18090); the config's gateway and base_url point at it.
	ServerURL string
}

// Init creates a sandbox directory with fresh keys and returns the path of
// the payrecon config it wrote. It refuses to overwrite an existing one.
func Init(dir string, opt InitOptions) (string, error) {
	if opt.Listen == "" {
		opt.Listen = "127.0.0.1:8080"
	}
	if opt.ServerURL == "" {
		opt.ServerURL = "http://127.0.0.1:18090"
	}
	cfgPath := filepath.Join(dir, "payrecon.yaml")
	if _, err := os.Stat(cfgPath); err == nil {
		return "", fmt.Errorf("sandbox init: %s already exists", cfgPath)
	}
	for _, d := range []string{"keys", "sandbox", "var"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return "", fmt.Errorf("sandbox init: %w", err)
		}
	}
	keys := make([]*rsa.PrivateKey, 5)
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return "", fmt.Errorf("sandbox init: %w", err)
		}
		keys[i] = k
	}
	appKey, alipayKey, merchantKey, wxPubKey, platformKey := keys[0], keys[1], keys[2], keys[3], keys[4]

	var id Identity
	id.Alipay.Account = "sandbox-ali"
	id.Alipay.AppID = "2021000000000001"
	id.Alipay.SellerID = "2088000000000001"
	id.WeChat.Account = "sandbox-wx"
	id.WeChat.MchID = "1900000001"
	id.WeChat.AppID = "wx0000000000000001"
	id.WeChat.AppIDs = []string{"wx0000000000000002"}
	id.WeChat.MerchantSerial = strings.ToUpper(randHex(20))
	id.WeChat.PublicKeyID = "PUB_KEY_ID_" + strings.ToUpper(randHex(18))

	serial, _ := new(big.Int).SetString(randHex(20), 16)
	id.WeChat.PlatformSerial = strings.ToUpper(serial.Text(16))
	certDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "Tenpay.com Root CA (payrecon sandbox)", Organization: []string{"payrecon sandbox"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(5, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}, &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: "Tenpay.com Root CA (payrecon sandbox)"}}, &platformKey.PublicKey, platformKey)
	if err != nil {
		return "", fmt.Errorf("sandbox init: %w", err)
	}

	files := map[string][]byte{
		"keys/alipay_app_private.pem":            keyfile.PrivateKeyPEM(appKey),
		"keys/alipay_public_key.txt":             []byte(keyfile.PublicKeyBase64(&alipayKey.PublicKey) + "\n"),
		"keys/wechatpay_apiclient_key.pem":       keyfile.PrivateKeyPEM(merchantKey),
		"keys/wechatpay_pub_key.pem":             keyfile.PublicKeyPEM(&wxPubKey.PublicKey),
		"keys/wechatpay_platform.pem":            pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER}),
		"keys/apiv3.key":                         []byte(randAlnum(32)),
		"keys/apiv2.key":                         []byte(randAlnum(32)),
		"sandbox/alipay_private.pem":             keyfile.PrivateKeyPEM(alipayKey),
		"sandbox/alipay_app_public.pem":          keyfile.PublicKeyPEM(&appKey.PublicKey),
		"sandbox/wechatpay_pub_private.pem":      keyfile.PrivateKeyPEM(wxPubKey),
		"sandbox/wechatpay_platform_private.pem": keyfile.PrivateKeyPEM(platformKey),
		"sandbox/merchant_public.pem":            keyfile.PublicKeyPEM(&merchantKey.PublicKey),
	}
	idJSON, _ := json.MarshalIndent(id, "", "  ")
	files["sandbox/identity.json"] = idJSON

	var cfg strings.Builder
	if err := configTemplate.Execute(&cfg, map[string]any{"ID": id, "Listen": opt.Listen, "Server": strings.TrimRight(opt.ServerURL, "/")}); err != nil {
		return "", fmt.Errorf("sandbox init: %w", err)
	}
	files["payrecon.yaml"] = []byte(cfg.String())
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return "", fmt.Errorf("sandbox init: %w", err)
		}
	}
	return cfgPath, nil
}

var configTemplate = template.Must(template.New("cfg").Parse(`# payrecon config for the sandbox merchant (written by payrecon sandbox init).
listen: {{.Listen}}
database: var/payrecon.db
timezone: Asia/Shanghai
archive_dir: var/bills
reports:
  dir: var/reports
  locale: zh
reconcile:
  schedule: "CRON_TZ=Asia/Shanghai 30 10 * * *"
  hold_days: 2
  bill_retry_interval: 1s     # the sandbox answers at once; real bills want 10m
  bill_deadline: 20s
  catch_up_days: 0
  query_interval: 10ms
  start_date: 2020-01-01      # the sandbox plays past days: live long before them (see "Going live")
accounts:
  - name: {{.ID.Alipay.Account}}           # POST /notify/{{.ID.Alipay.Account}}
    provider: alipay
    app_id: "{{.ID.Alipay.AppID}}"
    seller_id: "{{.ID.Alipay.SellerID}}"
    gateway: {{.Server}}/gateway.do
    app_private_key_file: keys/alipay_app_private.pem
    alipay_public_key_file: keys/alipay_public_key.txt    # bare base64, as the Alipay console shows it
  - name: {{.ID.WeChat.Account}}            # POST /notify/{{.ID.WeChat.Account}}
    provider: wechatpay
    mchid: "{{.ID.WeChat.MchID}}"
    appid: {{.ID.WeChat.AppID}}
    appids: [{{range $i, $a := .ID.WeChat.AppIDs}}{{if $i}}, {{end}}{{$a}}{{end}}]   # further apps on this merchant number
    base_url: {{.Server}}
    merchant_serial: "{{.ID.WeChat.MerchantSerial}}"
    merchant_private_key_file: keys/wechatpay_apiclient_key.pem
    apiv3_key_file: keys/apiv3.key
    wechatpay_public_key_id: {{.ID.WeChat.PublicKeyID}}
    wechatpay_public_key_file: keys/wechatpay_pub_key.pem
    platform_cert_files: [keys/wechatpay_platform.pem]
    apiv2_key_file: keys/apiv2.key
`))

// Load reads a sandbox directory written by [Init].
func Load(dir string) (*Sandbox, error) {
	s := &Sandbox{Dir: dir, Now: time.Now}
	b, err := os.ReadFile(filepath.Join(dir, "sandbox", "identity.json"))
	if err != nil {
		return nil, fmt.Errorf("load sandbox: %w", err)
	}
	if err := json.Unmarshal(b, &s.ID); err != nil {
		return nil, fmt.Errorf("load sandbox: identity: %w", err)
	}
	priv := func(name string) (*rsa.PrivateKey, error) {
		b, err := os.ReadFile(filepath.Join(dir, "sandbox", name))
		if err != nil {
			return nil, err
		}
		return keyfile.ParsePrivateKey(b)
	}
	if s.alipayKey, err = priv("alipay_private.pem"); err != nil {
		return nil, fmt.Errorf("load sandbox: %w", err)
	}
	if s.wxPubKey, err = priv("wechatpay_pub_private.pem"); err != nil {
		return nil, fmt.Errorf("load sandbox: %w", err)
	}
	if s.wxPlatformKey, err = priv("wechatpay_platform_private.pem"); err != nil {
		return nil, fmt.Errorf("load sandbox: %w", err)
	}
	if s.apiv3Key, err = os.ReadFile(filepath.Join(dir, "keys", "apiv3.key")); err != nil {
		return nil, fmt.Errorf("load sandbox: %w", err)
	}
	if s.apiv2Key, err = os.ReadFile(filepath.Join(dir, "keys", "apiv2.key")); err != nil {
		return nil, fmt.Errorf("load sandbox: %w", err)
	}
	return s, nil
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func randAlnum(n int) string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// Verifiers returns the merchant-side verifiers matching this sandbox (what
// payrecon builds from the config Init wrote), with now as WeChat Pay's
// clock. Tests use them to wire an intake without going through a config.
func (s *Sandbox) Verifiers(now func() time.Time) (*alipay.Verifier, *wechatpay.Verifier) {
	a := &alipay.Verifier{Account: s.ID.Alipay.Account, AppID: s.ID.Alipay.AppID, SellerID: s.ID.Alipay.SellerID,
		Keys: []alipay.Key{{Name: "public-key", Pub: &s.alipayKey.PublicKey}}}
	w := &wechatpay.Verifier{Account: s.ID.WeChat.Account, MchID: s.ID.WeChat.MchID, AppID: s.ID.WeChat.AppID, AppIDs: s.ID.WeChat.AppIDs,
		APIv3Key: s.apiv3Key, APIv2Key: s.apiv2Key, Now: now,
		Keys: map[string]*rsa.PublicKey{
			s.ID.WeChat.PublicKeyID:    &s.wxPubKey.PublicKey,
			s.ID.WeChat.PlatformSerial: &s.wxPlatformKey.PublicKey,
		}}
	return a, w
}

// Clients returns merchant-side API clients for this sandbox pointed at
// baseURL (a running [Server]), built from the keys/ files the merchant
// holds. Tests use them; payrecon builds its own from the config.
func (s *Sandbox) Clients(baseURL string, hc *http.Client, now func() time.Time) (*alipay.Client, *wechatpay.Client, error) {
	read := func(name string) (*rsa.PrivateKey, error) {
		b, err := os.ReadFile(filepath.Join(s.Dir, "keys", name))
		if err != nil {
			return nil, err
		}
		return keyfile.ParsePrivateKey(b)
	}
	appKey, err := read("alipay_app_private.pem")
	if err != nil {
		return nil, nil, err
	}
	mchKey, err := read("wechatpay_apiclient_key.pem")
	if err != nil {
		return nil, nil, err
	}
	av, wv := s.Verifiers(now)
	return &alipay.Client{AppID: s.ID.Alipay.AppID, Gateway: baseURL + "/gateway.do", Key: appKey, Keys: av.Keys, HTTP: hc, Now: now},
		&wechatpay.Client{MchID: s.ID.WeChat.MchID, Serial: s.ID.WeChat.MerchantSerial, PublicKeyID: s.ID.WeChat.PublicKeyID, Key: mchKey, BaseURL: baseURL, Verifier: wv, HTTP: hc},
		nil
}

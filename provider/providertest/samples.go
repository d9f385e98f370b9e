// Package providertest holds helpers for tests that exercise provider code:
// locating the public sample vectors in ../shared/samples (skipping cleanly
// when they are absent) and generating throw-away RSA keys.
package providertest

import (
	"encoding/json"
	"strings"

	"crypto/rand"
	"crypto/rsa"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/payrecon/payrecon/provider/keyfile"
)

// moduleRoot walks up from the working directory to the directory holding go.mod.
func moduleRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("module root not found")
		}
		dir = parent
	}
}

// SamplesDir returns the absolute path of ../shared/samples beside the
// module root, or skips the test when it does not exist.
func SamplesDir(tb testing.TB) string {
	tb.Helper()
	s := filepath.Join(filepath.Dir(moduleRoot(tb)), "shared", "samples")
	if _, err := os.Stat(s); err != nil {
		tb.Skipf("public samples not present at %s", s)
	}
	return s
}

// AlipayVector is one entry of ../shared/samples/alipay/vectors.json.
type AlipayVector struct {
	ID          string            `json:"id"`
	Kind        string            `json:"kind"` // notify_v1, notify_v2 or response
	SignType    string            `json:"sign_type"`
	KeyFile     string            `json:"key_file"`
	Params      map[string]string `json:"params"`
	SignContent string            `json:"sign_content"`
	Sign        string            `json:"sign"`
}

// AlipayNotifyVectors returns the notification vectors (kind notify_*)
// with the public key each names, or skips when the samples are absent.
func AlipayNotifyVectors(tb testing.TB) ([]AlipayVector, []*rsa.PublicKey) {
	tb.Helper()
	dir := filepath.Join(SamplesDir(tb), "alipay")
	b, err := os.ReadFile(filepath.Join(dir, "vectors.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var all []AlipayVector
	if err := json.Unmarshal(b, &all); err != nil {
		tb.Fatal(err)
	}
	var vs []AlipayVector
	var keys []*rsa.PublicKey
	for _, v := range all {
		if !strings.HasPrefix(v.Kind, "notify") {
			continue
		}
		kb, err := os.ReadFile(filepath.Join(dir, v.KeyFile))
		if err != nil {
			tb.Fatal(err)
		}
		k, err := keyfile.ParsePublicKey(kb)
		if err != nil {
			tb.Fatalf("%s: %v", v.KeyFile, err)
		}
		vs = append(vs, v)
		keys = append(keys, k)
	}
	if len(vs) < 4 {
		tb.Fatalf("only %d Alipay notification vectors", len(vs))
	}
	return vs, keys
}

var (
	keyMu   sync.Mutex
	keyPool []*rsa.PrivateKey
)

// Key returns the i-th RSA-2048 test key, generating it on first use. Keys
// are shared across the tests of one package run to keep them fast.
func Key(tb testing.TB, i int) *rsa.PrivateKey {
	tb.Helper()
	keyMu.Lock()
	defer keyMu.Unlock()
	for len(keyPool) <= i {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			tb.Fatal(err)
		}
		keyPool = append(keyPool, k)
	}
	return keyPool[i]
}

// SandboxDir returns the committed sandbox fixture (testdata/sandbox at the
// module root), written by "payrecon sandbox init". Treat it as read-only:
// copy it before running anything that writes beside the config.
func SandboxDir(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(moduleRoot(tb), "testdata", "sandbox")
}

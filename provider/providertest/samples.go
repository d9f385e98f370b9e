// Package providertest holds helpers for tests that exercise provider code:
// locating the public sample vectors in ../shared/samples (skipping cleanly
// when they are absent) and generating throw-away RSA keys.
package providertest

import (
	"crypto/rand"
	"crypto/rsa"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// SamplesDir returns the absolute path of ../shared/samples beside the
// module root, or skips the test when it does not exist.
func SamplesDir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Skip("module root not found")
		}
		dir = parent
	}
	s := filepath.Join(filepath.Dir(dir), "shared", "samples")
	if _, err := os.Stat(s); err != nil {
		tb.Skipf("public samples not present at %s", s)
	}
	return s
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
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "testdata", "sandbox")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("module root not found")
		}
		dir = parent
	}
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// nodeReceiver is a merchant app written with the npm package
// standardwebhooks, an implementation independent of ours: it answers 204
// only to deliveries that verify, and prints "ok ID TYPE" or "bad REASON".
const nodeReceiver = `
const http = require('http');
const { Webhook } = require('standardwebhooks');
const wh = new Webhook(process.env.FORWARD_SECRET);
const srv = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', c => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    try {
      const ev = wh.verify(body, req.headers);
      if (ev.id !== req.headers['webhook-id']) throw new Error('webhook-id is not the event id');
      console.log('ok ' + ev.id + ' ' + ev.type);
      res.writeHead(204); res.end();
    } catch (e) {
      console.log('bad ' + e.message);
      res.writeHead(401); res.end();
    }
  });
});
srv.listen(0, '127.0.0.1', () => console.log('listening ' + srv.address().port));
`

// TestForwardVerifiedByNode: every delivery verifies with the npm
// standardwebhooks package. Skipped where node or the package is absent.
func TestForwardVerifiedByNode(t *testing.T) {
	if testing.Short() {
		t.Skip("installs an npm package")
	}
	node, err := exec.LookPath("node")
	npm, err2 := exec.LookPath("npm")
	if err != nil || err2 != nil {
		t.Skip("node or npm not installed")
	}
	js := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, npm, "install", "--no-audit", "--no-fund", "--prefix", js, "standardwebhooks").CombinedOutput(); err != nil {
		t.Skipf("npm install standardwebhooks: %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(js, "receiver.js"), []byte(nodeReceiver), 0o600); err != nil {
		t.Fatal(err)
	}
	_, cfgPath := copySandbox(t)
	secretFile := addForward(t, cfgPath, "http://127.0.0.1:9/placeholder")
	secret, _ := os.ReadFile(secretFile)

	cmd := exec.Command(node, filepath.Join(js, "receiver.js"))
	cmd.Dir = js
	cmd.Env = append(os.Environ(), "FORWARD_SECRET="+strings.TrimSpace(string(secret)))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 1024)
	var mu sync.Mutex
	var log []string
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			mu.Lock()
			log = append(log, sc.Text())
			mu.Unlock()
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	var port string
	select {
	case l := <-lines:
		port = strings.TrimPrefix(l, "listening ")
	case <-time.After(20 * time.Second):
		t.Fatal("node receiver did not start")
	}
	cfg, _ := os.ReadFile(cfgPath)
	os.WriteFile(cfgPath, bytes.Replace(cfg, []byte("http://127.0.0.1:9/placeholder"), []byte("http://127.0.0.1:"+port+"/events"), 1), 0o600)

	addr, _, stop := startServe(t, cfgPath)
	if err := run(t.Context(), []string{"sandbox", "trigger", "-config", cfgPath, "-url", "http://" + addr}, noenv, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	all := waitDelivered(t, cfgPath)
	stop()
	mu.Lock()
	defer mu.Unlock()
	ok := map[string]bool{}
	for _, l := range log {
		if strings.HasPrefix(l, "bad ") {
			t.Errorf("node rejected a delivery: %s", l)
		}
		if f := strings.Fields(l); len(f) == 3 && f[0] == "ok" {
			ok[f[1]] = true
		}
	}
	for _, e := range all {
		if !ok[e.ID] {
			t.Errorf("%s %s not verified by node", e.ID, e.Type)
		}
	}
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/config"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/store"
)

// cmdBenchIntake measures verified and durable notifications per second
// through the real intake over loopback HTTP: payrecon's group-commit
// ledger beside a naive handler (verify, then one synchronous=FULL
// transaction per request), for Alipay RSA2 and WeChat Pay v3.
func cmdBenchIntake(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench-intake", stderr)
	n := fs.Int("n", 20000, "notifications per run (group commit)")
	naiveN := fs.Int("naive-n", 4000, "notifications per run (naive handler)")
	conc := fs.Int("c", 64, "concurrent senders")
	providers := fs.String("providers", "alipay,wechatpay", "comma-separated: alipay, wechatpay")
	naiveToo := fs.Bool("naive", true, "also measure the naive handler")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}

	dir, err := os.MkdirTemp("", "payrecon-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfgPath, err := sandbox.Init(dir, sandbox.InitOptions{Listen: "127.0.0.1:0"})
	if err != nil {
		return err
	}
	cfg, accts, err := loadConfig(cfgPath, os.Getenv)
	if err != nil {
		return err
	}
	sb, err := sandbox.Load(dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "intake benchmark: %d CPUs, GOMAXPROCS=%d, %d concurrent senders, loopback HTTP, SQLite WAL synchronous=FULL\n\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), *conc)
	if d, err := fsyncLatency(dir, 200); err == nil {
		fmt.Fprintf(stdout, "fsync (fdatasync of a 4 KiB append) on this disk: median %s — the naive handler pays one per notification\n\n", d.Round(time.Microsecond))
	}
	fmt.Fprintf(stdout, "%-10s %-14s %7s %10s %9s %9s %9s\n", "provider", "handler", "n", "notif/s", "p50", "p99", "max")
	for _, p := range strings.Split(*providers, ",") {
		var rates [2]float64
		modes := []bool{false, true}
		if !*naiveToo {
			modes = modes[:1]
		}
		for i, naive := range modes {
			count := *n
			if naive {
				count = *naiveN
			}
			runCfg := cfg
			runCfg.Database = filepath.Join(dir, fmt.Sprintf("bench-%s-%v.db", p, naive))
			r, err := benchRun(ctx, sb, runCfg, accts, p, count, *conc, naive, *cpuprofile)
			*cpuprofile = "" // profile the first run only
			if err != nil {
				return fmt.Errorf("bench %s: %w", p, err)
			}
			rates[i] = r.rate
			name := "group-commit"
			if naive {
				name = "naive"
			}
			fmt.Fprintf(stdout, "%-10s %-14s %7d %10.0f %9s %9s %9s\n", p, name, count, r.rate,
				r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.max.Round(10*time.Microsecond))
		}
		if *naiveToo {
			fmt.Fprintf(stdout, "%-10s speed-up over naive: %.1fx\n\n", p, rates[0]/rates[1])
		}
	}
	return nil
}

type benchResult struct {
	rate          float64
	p50, p99, max time.Duration
}

type benchReq struct {
	header http.Header
	body   []byte
}

func benchRun(ctx context.Context, sb *sandbox.Sandbox, cfg config.Config, accts []Account, provider string, n, conc int, naive bool, cpuprofile string) (benchResult, error) {
	reqs, account, err := presign(sb, provider, n)
	if err != nil {
		return benchResult{}, err
	}
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return benchResult{}, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return benchResult{}, err
		}
		defer pprof.StopCPUProfile()
	}
	srv, err := startServer(ctx, cfg, accts, store.Options{NoGroupCommit: naive}, slog.New(slog.DiscardHandler), os.Getenv)
	if err != nil {
		return benchResult{}, err
	}
	defer srv.Close()
	url := "http://" + srv.Addr() + "/notify/" + account
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}}
	defer client.CloseIdleConnections()

	lat := make([]time.Duration, n)
	var next atomic.Int64
	var failed atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				ok, err := post(ctx, client, url, reqs[i], provider)
				lat[i] = time.Since(t0)
				if err != nil || !ok {
					failed.Add(1)
					errOnce.Do(func() { firstErr = fmt.Errorf("request %d: ok=%v err=%v", i, ok, err) })
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if failed.Load() > 0 {
		return benchResult{}, fmt.Errorf("%d of %d not acknowledged; first: %w", failed.Load(), n, firstErr)
	}
	// Every acknowledged notification must be in the ledger.
	c, err := srv.db.Count(ctx)
	if err != nil {
		return benchResult{}, err
	}
	if c.Trades != int64(n) {
		return benchResult{}, fmt.Errorf("ledger holds %d trades after %d acknowledged", c.Trades, n)
	}
	slices.Sort(lat)
	return benchResult{
		rate: float64(n) / elapsed.Seconds(),
		p50:  lat[n/2], p99: lat[n*99/100], max: lat[n-1],
	}, nil
}

func post(ctx context.Context, client *http.Client, url string, r benchReq, provider string) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(r.body))
	if err != nil {
		return false, err
	}
	req.Header = r.header.Clone()
	resp, err := client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return false, err
	}
	proto := payrecon.ProtocolAlipay
	if provider == "wechatpay" {
		proto = payrecon.ProtocolWeChatV3
	}
	ok, _, err := sandbox.Accepted(proto, resp.StatusCode, b)
	return ok, err
}

// presign signs n distinct payment notifications up front (signing is the
// provider's cost, not ours), spread over the CPUs.
func presign(sb *sandbox.Sandbox, provider string, n int) ([]benchReq, string, error) {
	reqs := make([]benchReq, n)
	run := fmt.Sprintf("B%d", time.Now().UnixNano())
	var account string
	switch provider {
	case "alipay":
		account = sb.ID.Alipay.Account
	case "wechatpay":
		account = sb.ID.WeChat.Account
	default:
		return nil, "", fmt.Errorf("unknown provider %q", provider)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	workers := runtime.NumCPU()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				var r benchReq
				var err error
				out := fmt.Sprintf("%s-%07d", run, i)
				paid := time.Now().Add(-time.Minute)
				if provider == "alipay" {
					r.body, err = sb.SignAlipay(sb.AlipayTradeParams(sandbox.AlipayTrade{
						OutTradeNo: out, TradeNo: fmt.Sprintf("2026%024d", i), Amount: payrecon.Fen(100 + i%10000), Status: "TRADE_SUCCESS", Paid: paid,
					}), sandbox.AlipayOptions{})
					r.header = http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}}
				} else {
					r.header, r.body, err = sb.WeChatV3Transaction(sandbox.WeChatTransaction{
						OutTradeNo: out, TransactionID: fmt.Sprintf("4200%024d", i), Amount: payrecon.Fen(100 + i%10000), Paid: paid,
					}, sandbox.WeChatV3Options{})
				}
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
				reqs[i] = r
			}
		}()
	}
	wg.Wait()
	return reqs, account, firstErr
}

// fsyncLatency measures the median cost of appending 4 KiB and syncing it,
// which is what each naive commit pays.
func fsyncLatency(dir string, n int) (time.Duration, error) {
	f, err := os.Create(filepath.Join(dir, "fsync-probe"))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := make([]byte, 4096)
	lat := make([]time.Duration, n)
	for i := range lat {
		t0 := time.Now()
		if _, err := f.Write(buf); err != nil {
			return 0, err
		}
		if err := f.Sync(); err != nil {
			return 0, err
		}
		lat[i] = time.Since(t0)
	}
	slices.Sort(lat)
	return lat[n/2], nil
}

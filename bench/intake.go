package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/store"
)

// Server is a running payrecon intake under measurement.
type Server interface {
	// Addr is the host:port it serves "/notify/{account}" on.
	Addr() string
	// Trades counts the trades in its ledger.
	Trades(ctx context.Context) (int64, error)
	// Close stops serving and closes the ledger.
	Close() error
}

// StartFunc starts an intake with its ledger at dbPath, opened with opt
// (opt.NoGroupCommit selects the naive handler).
type StartFunc func(ctx context.Context, dbPath string, opt store.Options) (Server, error)

// IntakeOptions configure [Intake].
type IntakeOptions struct {
	// N is the number of notifications per group-commit run.
	N int
	// NaiveN is the number of notifications per naive run.
	NaiveN int
	// Senders is the number of concurrent senders.
	Senders int
	// Providers are measured in this order: "alipay", "wechatpay".
	Providers []string
	// Naive also measures the naive handler.
	Naive bool
	// CPUProfile, when set, is a file to write a CPU profile of the first
	// run to (and, with Forward, one of the first run with forwarding on
	// to the same name plus ".forward").
	CPUProfile string
	// Forward also measures forwarding: the same run with every event
	// forwarded to a verifying merchant app on loopback (notifications/s
	// on against off), then the delivery latency (commit to 2xx) at
	// PacedRate notifications/s for PacedFor.
	Forward   bool
	PacedRate int
	PacedFor  time.Duration
	// Ledger names the ledger in the table ("" : SQLite); Replicas is
	// how many intakes each run starts on the same ledger (a PostgreSQL
	// database: the StartFunc gives every call with one dbPath the same
	// database), the senders spreading over them (0 or 1: one).
	Ledger   string
	Replicas int
	// Setup is given the payrecon config [Intake] writes for a fresh
	// sandbox (listening on 127.0.0.1:0) and returns how to start the
	// intake that config describes. It is called once per config: the
	// sandbox's, and with Forward the same plus a forward entry.
	Setup func(configPath string) (StartFunc, error)
}

// Intake measures verified and durable notifications per second through
// the intake over loopback HTTP: payrecon's group-commit ledger beside a
// naive handler (verify, then one synchronous=FULL transaction per
// request), for Alipay RSA2 and WeChat Pay v3, and prints a table to w.
// Every run checks that each acknowledged notification is in the ledger.
func Intake(ctx context.Context, opt IntakeOptions, w io.Writer) error {
	dir, err := os.MkdirTemp("", "payrecon-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfgPath, err := sandbox.Init(dir, sandbox.InitOptions{Listen: "127.0.0.1:0"})
	if err != nil {
		return err
	}
	start, err := opt.Setup(cfgPath)
	if err != nil {
		return err
	}
	sb, err := sandbox.Load(dir)
	if err != nil {
		return err
	}
	ledger := "SQLite WAL synchronous=FULL"
	if opt.Ledger != "" {
		ledger = fmt.Sprintf("%s, %d replica(s)", opt.Ledger, max(opt.Replicas, 1))
	}
	fmt.Fprintf(w, "intake benchmark: %d CPUs, GOMAXPROCS=%d, %d concurrent senders, loopback HTTP, %s\n\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), opt.Senders, ledger)
	if d, err := fsyncLatency(dir, 200); err == nil {
		fmt.Fprintf(w, "fsync (fdatasync of a 4 KiB append) on this disk: median %s — the naive handler pays one per notification\n\n", d.Round(time.Microsecond))
	}
	fmt.Fprintf(w, "%-10s %-14s %7s %10s %9s %9s %9s\n", "provider", "handler", "n", "notif/s", "p50", "p99", "max")
	r := intakeRunner{sb: sb, start: start, dir: dir, senders: opt.Senders, cpuprofile: opt.CPUProfile, replicas: max(opt.Replicas, 1)}
	if opt.CPUProfile != "" && opt.Forward {
		r.fwdprofile = opt.CPUProfile + ".forward"
	}
	for _, p := range opt.Providers {
		if err := r.provider(ctx, opt, p, w); err != nil {
			return err
		}
	}
	if opt.Forward {
		return r.forwarding(ctx, opt, cfgPath, w)
	}
	return nil
}

// intakeRunner holds what every run of one [Intake] shares.
type intakeRunner struct {
	sb         *sandbox.Sandbox
	start      StartFunc
	dir        string
	senders    int
	replicas   int    // intakes per run on one ledger
	cpuprofile string // for the next run only
	fwdprofile string // for the first run with forwarding on
	// tag names the runs' ledger files apart from other runs'.
	tag string
	// before, when set, is called just before the sending starts; after,
	// when set, once every acknowledged notification is in the ledger,
	// before the intake stops.
	before func()
	after  func(ctx context.Context, n int) error
}

// provider measures one provider's runs and prints their rows.
func (r *intakeRunner) provider(ctx context.Context, opt IntakeOptions, p string, w io.Writer) error {
	var rates [2]float64
	modes := []bool{false, true}
	if !opt.Naive {
		modes = modes[:1]
	}
	for i, naive := range modes {
		count := opt.N
		if naive {
			count = opt.NaiveN
		}
		res, err := r.run(ctx, p, count, naive)
		if err != nil {
			return fmt.Errorf("bench %s: %w", p, err)
		}
		rates[i] = res.rate
		name := "group-commit"
		if opt.Ledger != "" {
			name = fmt.Sprintf("postgres x%d", r.replicas)
		}
		if naive {
			name = "naive"
		}
		fmt.Fprintf(w, "%-10s %-14s %7d %10.0f %9s %9s %9s\n", p, name, count, res.rate,
			res.p50.Round(10*time.Microsecond), res.p99.Round(10*time.Microsecond), res.max.Round(10*time.Microsecond))
	}
	if opt.Naive {
		fmt.Fprintf(w, "%-10s speed-up over naive: %.1fx\n\n", p, rates[0]/rates[1])
	}
	return nil
}

type intakeResult struct {
	rate          float64
	p50, p99, max time.Duration
}

type signedReq struct {
	header http.Header
	body   []byte
}

// run posts n pre-signed notifications to a fresh intake and checks that
// the ledger holds every acknowledged one.
func (r *intakeRunner) run(ctx context.Context, provider string, n int, naive bool) (intakeResult, error) {
	reqs, account, err := presign(r.sb, provider, n)
	if err != nil {
		return intakeResult{}, err
	}
	if r.cpuprofile != "" {
		path := r.cpuprofile
		r.cpuprofile = "" // profile the first run only
		f, err := os.Create(path)
		if err != nil {
			return intakeResult{}, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return intakeResult{}, err
		}
		defer pprof.StopCPUProfile()
	}
	dbPath := filepath.Join(r.dir, fmt.Sprintf("bench-%s-%v%s-%d.db", provider, naive, r.tag, time.Now().UnixNano()))
	var urls []string
	var srv Server
	for range max(r.replicas, 1) {
		s, err := r.start(ctx, dbPath, store.Options{NoGroupCommit: naive})
		if err != nil {
			return intakeResult{}, err
		}
		defer s.Close()
		if srv == nil {
			srv = s
		}
		urls = append(urls, "http://"+s.Addr()+"/notify/"+account)
	}
	if r.before != nil {
		r.before()
	}
	lat, elapsed, err := send(ctx, urls, provider, reqs, r.senders)
	if err != nil {
		return intakeResult{}, err
	}
	// Every acknowledged notification must be in the ledger.
	c, err := srv.Trades(ctx)
	if err != nil {
		return intakeResult{}, err
	}
	if c != int64(n) {
		return intakeResult{}, fmt.Errorf("ledger holds %d trades after %d acknowledged", c, n)
	}
	if r.after != nil {
		if err := r.after(ctx, n); err != nil {
			return intakeResult{}, err
		}
	}
	slices.Sort(lat)
	return intakeResult{
		rate: float64(n) / elapsed.Seconds(),
		p50:  lat[n/2], p99: lat[n*99/100], max: lat[n-1],
	}, nil
}

// send posts reqs to urls (request i to urls[i%len(urls)]) from conc concurrent senders and returns each
// request's latency and the elapsed time; any request not acknowledged is
// an error.
func send(ctx context.Context, urls []string, provider string, reqs []signedReq, conc int) ([]time.Duration, time.Duration, error) {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}}
	defer client.CloseIdleConnections()
	n := len(reqs)
	lat := make([]time.Duration, n)
	var next, failed atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				ok, err := post(ctx, client, urls[i%len(urls)], reqs[i], provider)
				lat[i] = time.Since(t0)
				if err != nil || !ok {
					failed.Add(1)
					errOnce.Do(func() { firstErr = fmt.Errorf("request %d: ok=%v err=%v", i, ok, err) })
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if failed.Load() > 0 {
		return nil, 0, fmt.Errorf("%d of %d not acknowledged; first: %w", failed.Load(), n, firstErr)
	}
	return lat, elapsed, nil
}

func post(ctx context.Context, client *http.Client, url string, r signedReq, provider string) (bool, error) {
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
func presign(sb *sandbox.Sandbox, provider string, n int) ([]signedReq, string, error) {
	reqs := make([]signedReq, n)
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
		wg.Go(func() {
			for i := w; i < n; i += workers {
				r, err := sign(sb, provider, fmt.Sprintf("%s-%07d", run, i), i)
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
				reqs[i] = r
			}
		})
	}
	wg.Wait()
	return reqs, account, firstErr
}

// sign builds the i-th payment notification, paid a minute ago.
func sign(sb *sandbox.Sandbox, provider, out string, i int) (signedReq, error) {
	var r signedReq
	var err error
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
	return r, err
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

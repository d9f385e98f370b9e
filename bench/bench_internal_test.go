package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/notify"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/store"
)

// TestMain lets the test binary stand in for payrecon as Reconcile's child:
// Reconcile re-executes os.Executable() with ChildCommand.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == ChildCommand {
		if err := ReconcileChild(context.Background(), os.Args[2:], os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// testServer is the notify handler over a ledger file on a loopback
// listener: the intake without cmd/payrecon's config.
type testServer struct {
	db  *store.DB
	srv *http.Server
	ln  net.Listener
}

func (s *testServer) Addr() string { return s.ln.Addr().String() }

func (s *testServer) Trades(ctx context.Context) (int64, error) {
	c, err := s.db.Count(ctx)
	return c.Trades, err
}

func (s *testServer) Close() error {
	return errors.Join(s.srv.Close(), s.db.Close())
}

// testSetup wires the sandbox's verifiers to the notify handler, as
// payrecon does from the config Intake writes.
func testSetup(t *testing.T) func(string) (StartFunc, error) {
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	return func(cfgPath string) (StartFunc, error) {
		sb, err := sandbox.Load(filepath.Dir(cfgPath))
		if err != nil {
			return nil, err
		}
		a, w := sb.Verifiers(time.Now)
		accts := []notify.Account{
			{Name: sb.ID.Alipay.Account, Provider: payrecon.Alipay, Verifier: notify.AlipayVerifier{V: a}},
			{Name: sb.ID.WeChat.Account, Provider: payrecon.WeChatPay, Verifier: w},
		}
		return func(ctx context.Context, dbPath string, opt store.Options) (Server, error) {
			db, err := store.Open(ctx, dbPath, opt, logger)
			if err != nil {
				return nil, err
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				db.Close()
				return nil, err
			}
			mux := http.NewServeMux()
			mux.Handle("/notify/{account}", notify.Handler(accts, db, notify.Options{}, logger))
			s := &testServer{db: db, srv: &http.Server{Handler: mux}, ln: ln}
			go s.srv.Serve(ln)
			return s, nil
		}, nil
	}
}

// TestIntake runs the intake benchmark small and checks that its table has
// a row per provider and handler with the requested counts.
func TestIntake(t *testing.T) {
	var out bytes.Buffer
	opt := IntakeOptions{N: 50, NaiveN: 30, Senders: 4, Providers: []string{"alipay", "wechatpay"}, Naive: true, Setup: testSetup(t)}
	if err := Intake(t.Context(), opt, &out); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	var got []string
	for line := range strings.Lines(out.String()) {
		f := strings.Fields(line)
		if len(f) >= 3 && (f[0] == "alipay" || f[0] == "wechatpay") {
			got = append(got, strings.Join(f[:3], " "))
		}
	}
	want := []string{
		"alipay group-commit 50", "alipay naive 30", "alipay speed-up over",
		"wechatpay group-commit 50", "wechatpay naive 30", "wechatpay speed-up over",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

var reconcileRow = regexp.MustCompile(`^(\S+) +(parse \+ diff(?: \+ workbook)?|raw StreamWriter loop) +(\d+) +[\d.]+ +\d+ MB  (.*)$`)

// TestReconcile runs the reconciliation benchmark small, each measure in
// a child process, and checks every measure's result against the faults
// the generator injects.
func TestReconcile(t *testing.T) {
	const rows = 2000
	var payments, refunds, dropped, other int
	for i := range rows {
		payments++
		if refunded(i) {
			refunds++
		}
		switch {
		case droppedCallback(i):
			dropped++
		case otherAmount(i):
			other++
		}
	}
	if dropped == 0 || other == 0 || refunds == 0 || extraTrades(rows) == 0 {
		t.Fatalf("rows=%d injects no fault of some kind", rows)
	}
	result := fmt.Sprintf("MATCHED=%d MISSING_LOCAL=%d MISSING_CHANNEL=%d AMOUNT_MISMATCH=%d",
		payments-dropped-other+refunds, dropped, extraTrades(rows), other)

	var out, stderr bytes.Buffer
	err := Reconcile(t.Context(), ReconcileOptions{Rows: rows, Dir: t.TempDir(), MemoryLimit: 256 << 20, Stderr: &stderr}, &out)
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	var got []string
	for line := range strings.Lines(out.String()) {
		if m := reconcileRow.FindStringSubmatch(strings.TrimSuffix(line, "\n")); m != nil {
			got = append(got, strings.Join(m[1:], " | "))
		}
	}
	n := fmt.Sprint(payments + refunds)
	var want []string
	for _, p := range []string{"alipay", "wechatpay"} {
		for _, measure := range []string{"parse + diff", "parse + diff + workbook"} {
			want = append(want, strings.Join([]string{p, measure, n, result}, " | "))
		}
		want = append(want, strings.Join([]string{p, "raw StreamWriter loop", n, "(the same cells, no diff)"}, " | "))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, p := range []string{"alipay", "wechatpay"} {
		if !regexp.MustCompile(`(?m)^` + p + ` +workbook [\d.]+ s vs raw StreamWriter loop [\d.]+ s: [\d.]+× \(goal ≤ 1\.5×\)$`).MatchString(out.String()) {
			t.Errorf("no workbook goal line for %s", p)
		}
	}
}

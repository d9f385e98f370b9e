package main

import (
	"database/sql"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider/sandbox"
)

// replica is one "payrecon serve" child process.
type replica struct {
	cmd    *exec.Cmd
	addr   string
	logs   *syncBuffer
	exited chan error
}

// startReplicas starts n serve processes on cfgPath at once (so their
// start-up catch-ups race) and waits until each serves.
func startReplicas(t *testing.T, bin, cfgPath string, n int) []*replica {
	t.Helper()
	var rs []*replica
	for range n {
		r := &replica{logs: &syncBuffer{}, exited: make(chan error, 1)}
		r.cmd = exec.Command(bin, "serve", "-config", cfgPath, "-listen", "127.0.0.1:0")
		r.cmd.Stderr = r.logs
		if err := r.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { r.exited <- r.cmd.Wait() }()
		t.Cleanup(func() { r.cmd.Process.Kill() })
		rs = append(rs, r)
	}
	for _, r := range rs {
		r.addr = waitAddr(t, r.logs, r.exited)
	}
	return rs
}

// kill SIGKILLs the replica and waits for it.
func (r *replica) kill(t *testing.T) {
	t.Helper()
	r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.exited
	if ws, _ := r.cmd.ProcessState.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("replica was not killed by SIGKILL: %v", r.cmd.ProcessState)
	}
}

// replicaDay sets up a PostgreSQL ledger whose yesterday is due at start
// (schedule 00:01 Beijing time, one day of catch-up): the providers (the
// emulator, slowed by slow per call) hold a day of trades none of whose
// callbacks arrived, so each run queries every one. It returns the config,
// the database URL and the day.
func replicaDay(t *testing.T, slow time.Duration) (cfgPath, pgURL string, day payrecon.Day) {
	t.Helper()
	dir, cfgPath, pgURL := postgresConfig(t)
	if wait := time.Until(payrecon.DayOf(time.Now()).Start().Add(65 * time.Second)); wait > 0 {
		time.Sleep(wait) // just after midnight: yesterday's job is due at 00:01
	}
	sb, err := sandbox.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	day = payrecon.DayOf(time.Now()).AddDays(-1)
	d := sb.GenerateDay(day.Start(), sandbox.DayOptions{Trades: 16, Seed: 13})
	serveProviders(t, sb, cfgPath, sandbox.ServerFaults{Slow: slow}, d)
	editConfig(t, cfgPath, "catch_up_days: 0", "catch_up_days: 1")
	editConfig(t, cfgPath, `schedule: "CRON_TZ=Asia/Shanghai 30 10 * * *"`, `schedule: "CRON_TZ=Asia/Shanghai 1 0 * * *"`)
	return cfgPath, pgURL, day
}

// takenOver is how a killed lease holder's run reads once another run
// took its day over.
const takenOver = "another run took the day over"

// okRuns waits (up to limit) until every account has an ok run of day and
// returns all runs of the day, failing on a failed one, except a killed
// holder's marked by a takeover.
func okRuns(t *testing.T, bin, cfgPath string, day payrecon.Day, limit time.Duration) []payrecon.Run {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		var of []payrecon.Run
		ok := map[string]bool{}
		for _, r := range jsonLines[payrecon.Run](t, runBin(t, bin, "runs", "-config", cfgPath, "-json")) {
			if r.Day != day {
				continue
			}
			of = append(of, r)
			if r.Status == payrecon.RunFailed && !strings.Contains(r.Error, takenOver) {
				t.Fatalf("a run failed: %+v", r)
			}
			ok[r.Account] = ok[r.Account] || r.Status == payrecon.RunOK
		}
		if ok["sandbox-ali"] && ok["sandbox-wx"] {
			return of
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s the day is not reconciled for both accounts: %+v", limit, of)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// TestReplicasReconcileADayOnce (issue 13): two serve replicas on one
// PostgreSQL ledger, both with the schedule on, start together with a day
// due: each account's day is reconciled exactly once (one run, one
// workbook written), and the replica that did not run it records no failed
// job and sends no alert.
func TestReplicasReconcileADayOnce(t *testing.T) {
	cfgPath, _, day := replicaDay(t, 20*time.Millisecond)
	bin := buildBinary(t)
	rs := startReplicas(t, bin, cfgPath, 2)
	okRuns(t, bin, cfgPath, day, 90*time.Second)
	time.Sleep(3 * time.Second) // a second run of a day would have started by now
	runs := jsonLines[payrecon.Run](t, runBin(t, bin, "runs", "-config", cfgPath, "-json"))
	per := map[string]int{}
	for _, r := range runs {
		if r.Status != payrecon.RunOK || r.Day != day {
			t.Errorf("run %+v: want only ok runs of %s", r, day)
		}
		per[r.Account]++
	}
	if len(runs) != 2 || per["sandbox-ali"] != 1 || per["sandbox-wx"] != 1 {
		t.Fatalf("want one run per account, got %+v", runs)
	}
	var logs string
	for _, r := range rs {
		logs += r.logs.String()
	}
	if n := strings.Count(logs, `msg="reconcile done"`); n != 2 {
		t.Fatalf("%d runs wrote a workbook, want 2 (one per account):\n%s", n, logs)
	}
	if strings.Contains(logs, `msg="job failed"`) || strings.Contains(logs, "level=ERROR") {
		t.Fatalf("a replica logged a failure:\n%s", logs)
	}
}

// TestReplicasTakeOverFromKilledHolder (issue 13): the replica holding a
// day's lease is SIGKILLed mid-run (the providers answer slowly); the
// other replica takes the day over once the lease expires and completes
// it, within a minute of the kill.
func TestReplicasTakeOverFromKilledHolder(t *testing.T) {
	cfgPath, pgURL, day := replicaDay(t, 250*time.Millisecond)
	bin := buildBinary(t)
	rs := startReplicas(t, bin, cfgPath, 2)
	db, err := sql.Open("pgx", pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var pid int
	deadline := time.Now().Add(30 * time.Second)
	for pid == 0 {
		err := db.QueryRowContext(t.Context(), `SELECT pid FROM run_leases WHERE account = 'sandbox-wx' AND bill_date = $1`, day.String()).Scan(&pid)
		if err != nil && err != sql.ErrNoRows {
			t.Fatal(err)
		}
		if pid == 0 && time.Now().After(deadline) {
			t.Fatal("no replica took the day's lease")
		}
		time.Sleep(50 * time.Millisecond)
	}
	i := slices.IndexFunc(rs, func(r *replica) bool { return r.cmd.Process.Pid == pid })
	if i < 0 {
		t.Fatalf("lease holder pid %d is none of the replicas", pid)
	}
	time.Sleep(time.Second) // mid-run: the slow providers make a run last several seconds
	rs[i].kill(t)
	killed := time.Now()
	runs := okRuns(t, bin, cfgPath, day, 75*time.Second)
	took := time.Since(killed)
	var wx []payrecon.Run
	for _, r := range runs {
		if r.Account == "sandbox-wx" {
			wx = append(wx, r)
		}
	}
	last := wx[0] // newest first
	if last.Status != payrecon.RunOK || last.Trigger != "takeover" || took > time.Minute {
		t.Fatalf("sandbox-wx after the kill (%s): %+v", took, wx)
	}
	if len(wx) != 2 || wx[1].Status != payrecon.RunFailed || !strings.Contains(wx[1].Error, takenOver) {
		t.Fatalf("want the killed holder's run marked failed by the takeover, and the takeover's ok: %+v", wx)
	}
	t.Logf("lease holder killed; the other replica completed the day %s later", took.Round(time.Second))
	if out := rs[1-i].logs.String(); !strings.Contains(out, "run lease taken over") {
		t.Fatalf("the survivor did not take the lease over:\n%s", out)
	}
}

// TestReplicasStormWithKill (issue 13): notifications spread across two
// replicas on one PostgreSQL ledger; one is SIGKILLed mid-storm and
// restarted, five rounds; a sender whose replica fails retries on the
// other (as a load balancer does). Every acknowledged notification is in
// the ledger once, with exactly one provenance row and one event.
func TestReplicasStormWithKill(t *testing.T) {
	dir, cfgPath, pgURL := postgresConfig(t)
	bin := buildBinary(t)
	sb, err := sandbox.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	stable := startReplicas(t, bin, cfgPath, 1)[0]
	acked := map[string]bool{}
	for round := range 5 {
		victim := startReplicas(t, bin, cfgPath, 1)[0]
		replicaStorm(t, crashRequests(t, sb, round, 300), stable, victim, acked)
	}
	if len(acked) == 0 {
		t.Fatal("nothing was acknowledged")
	}
	select {
	case err := <-stable.exited:
		t.Fatalf("the surviving replica exited: %v\n%s", err, stable.logs.String())
	default:
	}
	checkFacts(t, pgURL, acked)
}

// replicaStorm posts reqs from 16 senders alternately to the two
// replicas, SIGKILLs victim 0–100 ms after it acknowledged 20, and adds
// every acknowledged out_trade_no to acked.
func replicaStorm(t *testing.T, reqs []crashReq, stable, victim *replica, acked map[string]bool) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var failed, served atomic.Int64
	next := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range next {
				first, second := stable.addr, victim.addr
				if i%2 == 0 {
					first, second = second, first
				}
				ok := sendCrashReq(client, first, reqs[i])
				if first == victim.addr && ok {
					served.Add(1)
				} else if first == victim.addr {
					failed.Add(1)
				}
				if ok || sendCrashReq(client, second, reqs[i]) {
					mu.Lock()
					acked[reqs[i].outTradeNo] = true
					mu.Unlock()
				}
			}
		})
	}
	go func() { // once the victim is serving, at a random moment
		for deadline := time.Now().Add(10 * time.Second); served.Load() < 20 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(time.Duration(rand.IntN(100)) * time.Millisecond)
		victim.cmd.Process.Signal(syscall.SIGKILL)
	}()
	for i := range reqs {
		next <- i
	}
	close(next)
	wg.Wait()
	<-victim.exited
	if ws, _ := victim.cmd.ProcessState.Sys().(syscall.WaitStatus); !ws.Signaled() || failed.Load() == 0 {
		t.Fatalf("the victim was not killed mid-storm: %v, %d requests failed on it", victim.cmd.ProcessState, failed.Load())
	}
	t.Logf("victim killed after acknowledging %d; %d requests failed on it and were retried on the other replica", served.Load(), failed.Load())
}

// checkFacts: each acknowledged trade is in the ledger once, with one
// provenance row (ledger_events) and one payment event in the outbox.
func checkFacts(t *testing.T, pgURL string, acked map[string]bool) {
	t.Helper()
	db, err := sql.Open("pgx", pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func(q string) map[string]int {
		rows, err := db.QueryContext(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]int{}
		for rows.Next() {
			var k string
			var n int
			if err := rows.Scan(&k, &n); err != nil {
				t.Fatal(err)
			}
			out[k] = n
		}
		return out
	}
	trades := count(`SELECT out_trade_no, count(*) FROM trades GROUP BY out_trade_no`)
	prov := count(`SELECT out_trade_no, count(*) FROM ledger_events GROUP BY out_trade_no`)
	events := count(`SELECT substr(fact_key, 9), count(*) FROM events WHERE fact_key LIKE 'payment:%' GROUP BY fact_key`)
	bad := 0
	for no := range acked {
		if trades[no] != 1 || prov[no] != 1 || events[no] != 1 {
			bad++
			if bad < 5 {
				t.Errorf("%s: %d trades, %d provenance rows, %d payment events; want one each", no, trades[no], prov[no], events[no])
			}
		}
	}
	for no, n := range events {
		if n != 1 || trades[no] != 1 {
			t.Errorf("event of %s: %d, trade %d", no, n, trades[no])
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d acknowledged notifications lost or duplicated", bad, len(acked))
	}
	t.Logf("%d acknowledged, %d trades, %d payment events in the ledger", len(acked), len(trades), len(events))
}

// pgCluster starts a PostgreSQL cluster of the test's own in a temp dir
// (.ci/postgres.sh), stopped at cleanup, and returns its URL and dir.
func pgCluster(t *testing.T) (url, dir string) {
	t.Helper()
	if os.Getenv("PAYRECON_TEST_POSTGRES") == "" {
		t.Skip("PAYRECON_TEST_POSTGRES is not set: skipping the PostgreSQL tests (.ci/postgres.sh starts a server)")
	}
	dir = t.TempDir()
	os.Chmod(filepath.Dir(dir), 0o755) // the cluster runs as user postgres when the tests run as root
	script, err := filepath.Abs("../../.ci/postgres.sh")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), script, "start", dir).Output()
	if err != nil {
		t.Fatalf("start a cluster: %v", err)
	}
	t.Cleanup(func() { exec.Command(script, "stop", dir).Run() })
	return strings.TrimSpace(string(out)), dir
}

// statusOf is the HTTP status of GET url (0: no answer).
func statusOf(client *http.Client, url string) int {
	resp, err := client.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitStatus polls GET url until it answers want (bounded).
func waitStatus(t *testing.T, client *http.Client, url string, want int, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for got := statusOf(client, url); got != want; got = statusOf(client, url) {
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %d after %s, want %d", url, got, limit, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// postStatus posts one notification and returns the HTTP status (0: no
// answer).
func postStatus(client *http.Client, addr string, r crashReq) int {
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/notify/"+r.account, strings.NewReader(string(r.body)))
	if err != nil {
		return 0
	}
	req.Header = r.header.Clone()
	resp, err := client.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestReplicaSurvivesPostgresRestart (issue 13): on a cluster of its own,
// serve answers /readyz 200; the database stops: /readyz answers 503 and
// the intake a 5xx (the provider retries); the database comes back: serve,
// still the same process, reconnects, /readyz answers 200 and the
// notification refused meanwhile is accepted and in the ledger.
func TestReplicaSurvivesPostgresRestart(t *testing.T) {
	pgURL, clusterDir := pgCluster(t)
	dir, cfgPath := copySandbox(t)
	editConfig(t, cfgPath, "database: var/payrecon.db", "database: env:PAYRECON_DATABASE_URL")
	t.Setenv("PAYRECON_DATABASE_URL", pgURL)
	sb, err := sandbox.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	reqs := crashRequests(t, sb, 0, 2)
	bin := buildBinary(t)
	r := startReplicas(t, bin, cfgPath, 1)[0]
	client := &http.Client{Timeout: 10 * time.Second}
	ready := "http://" + r.addr + "/readyz"
	waitStatus(t, client, ready, http.StatusOK, 10*time.Second)
	if !sendCrashReq(client, r.addr, reqs[0]) {
		t.Fatal("notification with the database up not acknowledged")
	}
	script, _ := filepath.Abs("../../.ci/postgres.sh")
	if out, err := exec.Command(script, "stop", clusterDir).CombinedOutput(); err != nil {
		t.Fatalf("stop the cluster: %v\n%s", err, out)
	}
	waitStatus(t, client, ready, http.StatusServiceUnavailable, 15*time.Second)
	if got := postStatus(client, r.addr, reqs[1]); got < 500 {
		t.Fatalf("notification with the database down: %d, want a 5xx so the provider retries", got)
	}
	if out, err := exec.Command(script, "resume", clusterDir).CombinedOutput(); err != nil {
		t.Fatalf("restart the cluster: %v\n%s", err, out)
	}
	waitStatus(t, client, ready, http.StatusOK, 30*time.Second)
	if !sendCrashReq(client, r.addr, reqs[1]) {
		t.Fatal("the provider's retry after the restart not acknowledged")
	}
	select {
	case err := <-r.exited:
		t.Fatalf("serve exited: %v\n%s", err, r.logs.String())
	default:
	}
	trades := runBin(t, bin, "trades", "-config", cfgPath, "-json")
	for _, q := range reqs {
		if !strings.Contains(trades, `"out_trade_no":"`+q.outTradeNo+`"`) {
			t.Fatalf("%s not in the ledger:\n%s", q.outTradeNo, trades)
		}
	}
	if strings.Contains(r.logs.String(), "panic") {
		t.Fatalf("serve panicked:\n%s", r.logs.String())
	}
}

package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/payrecon/payrecon"
)

// ProcessOwner names the process pid as a run's owner: "boot=B pid=P
// start=S", with the kernel's boot id and the process's start time in
// clock ticks since boot (from /proc), so a reused pid, or the same pid
// after a reboot or a container restart (payrecon as pid 1), is not taken
// for the process that died. Without /proc it is "pid=P". Both forms
// start with "host=H" (the hostname) when it is known: on a ledger shared
// by replicas (PostgreSQL), only the host that ran a process can judge it.
func ProcessOwner(pid int) string {
	host := ""
	if h, err := os.Hostname(); err == nil && h != "" && !strings.ContainsAny(h, " =") {
		host = "host=" + h + " "
	}
	start, boot := procStart(pid), bootID()
	if start == "" || boot == "" {
		return host + "pid=" + strconv.Itoa(pid)
	}
	return host + "boot=" + boot + " pid=" + strconv.Itoa(pid) + " start=" + start
}

// OwnerAlive reports whether the process owner names is still running. It
// errs towards alive: a process that exists and cannot be told apart from
// the owner (no /proc, or another user's) counts as alive, so a live run
// is never taken for a dead one; a dead one whose pid was reused is only
// found once that pid is free again.
func OwnerAlive(owner string) bool {
	f := map[string]string{}
	for kv := range strings.FieldsSeq(owner) {
		k, v, _ := strings.Cut(kv, "=")
		f[k] = v
	}
	pid, err := strconv.Atoi(f["pid"])
	if err != nil || pid <= 0 {
		return true // unreadable: not ours to judge
	}
	if h, err := os.Hostname(); f["host"] != "" && (err != nil || f["host"] != h) {
		return true // another replica's process (or a container's): not ours to judge
	}
	if f["boot"] != "" && bootID() != "" && f["boot"] != bootID() {
		return false // recorded before the last boot
	}
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	if start := procStart(pid); f["start"] != "" && start != "" && start != f["start"] {
		return false // the pid now belongs to another process
	}
	return true
}

// procStart is field 22 of /proc/PID/stat, the process's start time in
// clock ticks since boot ("" when unreadable).
func procStart(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	// The command name (field 2) may hold spaces; count after its ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return ""
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 20 {
		return ""
	}
	return fields[19]
}

func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// MarkDeadRuns marks the reconciliation and job runs still `running`
// whose process died as failed, with the reason in their error, and
// returns how many it marked. A run is dead when alive(owner) says its
// owner is gone; a run recorded without an owner (before owners were
// kept) only when it started before unowned (the zero time: never). Call
// it when a process starts, before it starts runs of its own.
func (db *DB) MarkDeadRuns(ctx context.Context, alive func(owner string) bool, unowned time.Time) (int, error) {
	type row struct {
		Table   string `db:"tbl"`
		ID      int64  `db:"id"`
		Owner   string `db:"owner"`
		Started string `db:"started_at"`
	}
	var rows []row
	if err := db.read.SelectContext(ctx, &rows, `SELECT 'recon_runs' AS tbl, id, owner, started_at FROM recon_runs WHERE status = ?
		UNION ALL SELECT 'job_runs', id, owner, started_at FROM job_runs WHERE status = ?`, payrecon.RunRunning, payrecon.RunRunning); err != nil {
		return 0, fmt.Errorf("mark dead runs: %w", err)
	}
	var dead []row
	for _, r := range rows {
		started, err := parseTime(r.Started)
		if err != nil {
			return 0, fmt.Errorf("mark dead runs: %w", err)
		}
		if (r.Owner != "" && !alive(r.Owner)) || (r.Owner == "" && started.Before(unowned)) {
			dead = append(dead, r)
		}
	}
	if len(dead) == 0 {
		return 0, nil
	}
	now := fmtTime(db.opt.Now())
	err := db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		for _, r := range dead {
			msg := "interrupted: the process running it died before it finished"
			if r.Owner != "" {
				msg += " (" + r.Owner + ")"
			}
			// The table name comes from the query above, never from input.
			if _, err := tx.ExecContext(ctx, `UPDATE `+r.Table+` SET status = ?, finished_at = ?, error = ? WHERE id = ? AND status = ?`,
				payrecon.RunFailed, now, msg, r.ID, payrecon.RunRunning); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("mark dead runs: %w", err)
	}
	return len(dead), nil
}

// MarkTakenOverRuns marks the reconciliation and job runs of (account,
// day) still `running` that started before before as failed: a run whose
// lease expired unrenewed and was taken over (its holder died, perhaps on
// another replica) will never finish them. It returns how many it marked.
// Call it holding the day's lease, before starting the run that takes over.
func (db *DB) MarkTakenOverRuns(ctx context.Context, account string, day payrecon.Day, before time.Time, holder string) (int, error) {
	msg := "interrupted: its run lease expired unrenewed and another run took the day over"
	if holder != "" {
		msg += " (lease holder " + holder + ")"
	}
	n := 0
	err := db.update(ctx, func(ctx context.Context, tx *sqlx.Tx) error {
		n = 0
		now, b := fmtTime(db.opt.Now()), fmtTime(before)
		for _, q := range []string{
			`UPDATE recon_runs SET status = ?, finished_at = ?, error = ? WHERE account = ? AND bill_date = ? AND status = ? AND started_at < ?`,
			`UPDATE job_runs SET status = ?, finished_at = ?, error = ? WHERE account = ? AND day = ? AND status = ? AND started_at < ?`,
		} {
			res, err := tx.ExecContext(ctx, q, payrecon.RunFailed, now, msg, account, day.String(), payrecon.RunRunning, b)
			if err != nil {
				return err
			}
			m, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += int(m)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("mark taken-over runs %s %s: %w", account, day, err)
	}
	return n, nil
}

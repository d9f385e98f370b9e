package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"syscall"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/archive"
	"github.com/payrecon/payrecon/config"
	"github.com/payrecon/payrecon/store"
)

// cleanLeftovers clears what a killed payrecon left behind, when serve or
// reconcile starts and before it runs anything: runs still `running`
// whose process died are marked failed ("interrupted: …"), and temp files
// of interrupted writes in the archive and reports directories are
// removed.
//
// The rule cannot touch a live run, even one of a concurrent `payrecon
// reconcile` (which does not take the ledger lock): a run is marked only
// when the process recorded as its owner (boot id, pid and start time) is
// gone, and a temp file only when the pid in its name is gone, or is ours
// (we have written none yet, so an earlier process with our pid left it).
// Runs recorded before owners were kept are marked only by serve, which
// holds the ledger lock (lockHeld), and only when they started before
// this process. Removing temp files is best effort: a failure is logged.
func cleanLeftovers(ctx context.Context, cfg config.Config, db *store.DB, lockHeld bool, logger *slog.Logger) error {
	start := time.Now()
	var unowned time.Time
	if lockHeld {
		unowned = start
	}
	runs, err := db.MarkDeadRuns(ctx, store.OwnerAlive, unowned)
	if err != nil {
		return fmt.Errorf("clean leftovers: %w", err)
	}
	if _, err := db.ReleaseDeadLeases(ctx, leaseHolderAlive); err != nil {
		return fmt.Errorf("clean leftovers: %w", err)
	}
	removed, err := archive.CleanTemp(pidAlive, start, cfg.Path(cfg.ArchiveDir), cfg.Path(cfg.Reports.Dir))
	if err != nil {
		logger.Warn("clean leftovers", "err", err)
	}
	if runs > 0 || len(removed) > 0 {
		logger.Info("cleaned leftovers of an interrupted process", "runs_marked_failed", runs, "temp_files_removed", len(removed))
	}
	return nil
}

// pidAlive reports whether a process with pid exists (another user's
// counts).
func pidAlive(pid int) bool {
	return !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// leaseHolderAlive judges a run lease's holder: a process on this host
// that is gone is dead; another host's (a replica sharing a PostgreSQL
// ledger) is not ours to judge, and its lease is left to expire.
func leaseHolderAlive(l payrecon.Lease) bool {
	host, err := os.Hostname()
	if err != nil || l.Host != host {
		return true
	}
	return pidAlive(l.PID)
}

package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// ErrInUse is returned by [Lock] when another process holds the ledger.
var ErrInUse = errors.New("ledger in use")

// Lock takes the exclusive lock on the ledger at path for one long-running
// process (serve): a lock file beside it (path + ".lock"), locked with
// flock and holding the pid and the time it was taken. The lock ends with
// release, or with the process, however it dies. A second Lock on the same
// ledger fails at once with an error wrapping ErrInUse that names the
// holder: "ledger var/payrecon.db is in use by pid 4242 since 2026-…".
func Lock(path string, now time.Time) (release func() error, err error) {
	if err := ledgerDir(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("lock ledger: %w", err)
	}
	f, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock ledger: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := io.ReadAll(io.LimitReader(f, 256))
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("ledger %s is in use by %s: %w", path, strings.TrimSpace(string(holder)), ErrInUse)
		}
		return nil, fmt.Errorf("lock ledger: %w", err)
	}
	stamp := fmt.Sprintf("pid %d since %s\n", os.Getpid(), now.Format(time.RFC3339))
	err = f.Truncate(0)
	if err == nil {
		_, err = f.WriteAt([]byte(stamp), 0)
	}
	if err != nil { // a stale stamp would name the wrong holder to the next process
		return nil, errors.Join(fmt.Errorf("lock ledger: %w", err), syscall.Flock(int(f.Fd()), syscall.LOCK_UN), f.Close())
	}
	return func() error {
		uerr := syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return errors.Join(uerr, f.Close())
	}, nil
}

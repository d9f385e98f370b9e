package store

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// ErrNotWritable is returned by [Open] and [Lock] when the ledger's
// directory cannot be written: SQLite keeps its -wal and -shm files and
// payrecon its lock file there.
var ErrNotWritable = errors.New("not writable")

// ledgerDir creates the ledger's directory if needed and checks that this
// process may create files in it, so a read-only directory is reported as
// such ("ledger directory var is not writable: permission denied") rather
// than by whatever SQLite fails on first.
func ledgerDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("ledger directory %s is %w: %w", dir, ErrNotWritable, cause(err))
	}
	const wOK, xOK = 0x2, 0x1 // access(2)
	if err := syscall.Access(dir, wOK|xOK); err != nil {
		return fmt.Errorf("ledger directory %s is %w: %w", dir, ErrNotWritable, err)
	}
	return nil
}

// cause is the errno of a path error ("not a directory"), or err.
func cause(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

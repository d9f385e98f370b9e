// Package archive keeps the files payrecon must be able to show later.
// It obtains each day's bill (downloaded with retries until a deadline,
// or imported by hand), archives it raw and records it in the ledger, and
// parses archived bills by format. Files are written atomically (temp file in the target
// directory, fsync, rename, fsync of the directory), so a crash never
// leaves a half-written bill or workbook that looks complete. It is used
// for archived bills and for workbooks.
package archive

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// Result describes a written file.
type Result struct {
	Path   string
	SHA256 string
	Size   int64
}

// WriteFile creates path atomically with the bytes fill writes. On any
// error the target is untouched and the temp file removed.
func WriteFile(path string, fill func(w io.Writer) error) (Result, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Result{}, fmt.Errorf("write %s: %w", path, err)
	}
	// The pid in the name lets [CleanTemp] tell a dead writer's leftover
	// from a live writer's file.
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-"+strconv.Itoa(os.Getpid())+"-*")
	if err != nil {
		return Result{}, fmt.Errorf("write %s: %w", path, err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(tmp, h)}
	if err := fill(cw); err != nil {
		return Result{}, fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return Result{}, fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return Result{}, fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return Result{}, fmt.Errorf("write %s: %w", path, err)
	}
	done = true
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return Result{Path: path, SHA256: hex.EncodeToString(h.Sum(nil)), Size: cw.n}, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

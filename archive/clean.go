package archive

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// LegacyTempAge is how old a temp file without a writer's pid in its name
// (written before names carried one) must be before [CleanTemp] removes
// it: no live writer leaves its file untouched that long.
const LegacyTempAge = 24 * time.Hour

// CleanTemp removes, under each dir, the temp files [WriteFile] leaves when
// its process is killed mid-write (".NAME.tmp-PID-RANDOM": a bill's
// ".….download.tmp-…", a workbook's ".….xlsx.tmp-…"), and temp
// directories named the same way with what is in them (a run's workbook
// spill files, ".workbook.tmp-…"), and returns their paths. A file is removed only when its writer cannot be running: its pid
// is this process's (called at start, before this process writes any,
// it belongs to an earlier process that had the same pid, as a container's
// pid 1 does) or alive(pid) is false; a file with no pid in its name only
// when older than [LegacyTempAge]. A dir that does not exist is skipped.
func CleanTemp(alive func(pid int) bool, now time.Time, dirs ...string) ([]string, error) {
	var removed []string
	self := os.Getpid()
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if path == dir || !strings.HasPrefix(d.Name(), ".") || !strings.Contains(d.Name(), ".tmp-") {
				return nil
			}
			if !stale(d, alive, self, now) {
				if d.IsDir() {
					return fs.SkipDir // a live writer's: leave its files alone
				}
				return nil
			}
			if err := os.RemoveAll(path); err != nil {
				return err
			}
			removed = append(removed, path)
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		})
		if err != nil {
			return removed, fmt.Errorf("clean temp files: %w", err)
		}
	}
	return removed, nil
}

// stale reports whether the temp file's writer is gone.
func stale(d fs.DirEntry, alive func(int) bool, self int, now time.Time) bool {
	_, rest, _ := strings.Cut(d.Name(), ".tmp-")
	pidText, _, ok := strings.Cut(rest, "-")
	if pid, err := strconv.Atoi(pidText); ok && err == nil && pid > 0 {
		return pid == self || !alive(pid)
	}
	fi, err := d.Info()
	return err == nil && now.Sub(fi.ModTime()) > LegacyTempAge
}

package archive_test

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon/archive"
)

// TestCleanTemp removes the temp files and directories of dead writers and
// of an earlier process with this pid, keeps a live writer's, a fresh one without a pid
// and every other file, and skips a missing dir.
func TestCleanTemp(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	files := map[string]time.Time{
		"acct/2026-11-20/.x.download.tmp-999999-1":                      now,                      // dead writer
		"acct/.2026-11-20.xlsx.tmp-" + strconv.Itoa(os.Getpid()) + "-2": now,                      // an earlier process with our pid
		"acct/.2026-11-20.xlsx.tmp-424242-3":                            now,                      // live writer
		"acct/2026-11-20/.y.download.tmp-4":                             now,                      // no pid, fresh
		"acct/2026-11-20/.z.download.tmp-5":                             now.Add(-48 * time.Hour), // no pid, old
		"acct/2026-11-20/20261120T020000.000.csv":                       now,                      // a bill
		"acct/.workbook.tmp-999999-7/excelize-1":                        now,                      // a killed run's workbook spill
		"acct/.workbook.tmp-424242-8/excelize-2":                        now,                      // a live run's
	}
	for name, mt := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	alive := func(pid int) bool { return pid == 424242 }
	removed, err := archive.CleanTemp(alive, now, dir, filepath.Join(dir, "missing"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range removed {
		rel, _ := filepath.Rel(dir, p)
		got = append(got, rel)
	}
	slices.Sort(got)
	want := []string{"acct/.2026-11-20.xlsx.tmp-" + strconv.Itoa(os.Getpid()) + "-2", "acct/2026-11-20/.x.download.tmp-999999-1", "acct/2026-11-20/.z.download.tmp-5",
		"acct/.workbook.tmp-999999-7"}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("removed %v, want %v", got, want)
	}
	for name := range files {
		_, err := os.Stat(filepath.Join(dir, name))
		gone := slices.ContainsFunc(want, func(w string) bool { return name == w || strings.HasPrefix(name, w+"/") })
		if gone == (err == nil) {
			t.Errorf("%s: exists=%v after cleaning", name, err == nil)
		}
	}
}

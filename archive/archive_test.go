package archive_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/payrecon/payrecon/archive"
)

func TestWriteFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b.txt")
	r, err := archive.WriteFile(path, func(w io.Writer) error { _, err := io.WriteString(w, "hello"); return err })
	if err != nil || r.Size != 5 || r.SHA256 != "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" {
		t.Fatalf("%+v %v", r, err)
	}
	// A failing writer leaves the old file and no temp files.
	_, err = archive.WriteFile(path, func(w io.Writer) error { io.WriteString(w, "partial"); return errors.New("boom") })
	if err == nil {
		t.Fatal("error swallowed")
	}
	if b, _ := os.ReadFile(path); string(b) != "hello" {
		t.Fatalf("target changed to %q", b)
	}
	if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 1 {
		t.Fatalf("temp files left: %v", ents)
	}
}

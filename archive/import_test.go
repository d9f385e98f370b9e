package archive_test

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/archive"
	"github.com/payrecon/payrecon/provider/sandbox"
	"github.com/payrecon/payrecon/provider/sandbox/sandboxtest"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

var day = payrecon.DayOf(time.Date(2026, 11, 20, 12, 0, 0, 0, payrecon.ShanghaiFixed))

func gzipFile(t *testing.T, path string, fill func(w io.Writer)) {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	fill(zw)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestImportAlipayCSVGz: the bare detail CSV, gzipped, imports and parses.
func TestImportAlipayCSVGz(t *testing.T) {
	fx := sandboxtest.New(t)
	d := fx.GenerateDay(day.Start(), sandbox.DayOptions{Trades: 5, Seed: 1})
	var zb bytes.Buffer
	if err := sandbox.WriteAlipayBill(&zb, fx.ID.Alipay.SellerID, day.Start(), d.BillRows(payrecon.Alipay), sandbox.BillOptions{}); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(zb.Bytes()), int64(zb.Len()))
	if err != nil {
		t.Fatal(err)
	}
	// The detail CSV is the zip's first entry (its name is GBK bytes).
	rc, err := zr.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	detail, _ := io.ReadAll(rc)
	rc.Close()
	src := filepath.Join(t.TempDir(), "alipay.csv.gz")
	gzipFile(t, src, func(w io.Writer) { w.Write(detail) })
	bills := &archive.Bills{Dir: t.TempDir(), Ledger: storetest.MustOpen(t, store.Options{}), Now: time.Now}
	bill, err := bills.Import(t.Context(), "ali", payrecon.Alipay, day, src, nil)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	n := 0
	if _, err := archive.Parse(bill, func(payrecon.BillEntry) error { n++; return nil }); err != nil || n == 0 {
		t.Fatalf("parse: %d rows, %v", n, err)
	}
}

// TestImportGzBomb: a gzip that inflates past 200× its size is refused
// while it is written, and leaves nothing in the archive.
func TestImportGzBomb(t *testing.T) {
	src := filepath.Join(t.TempDir(), "bomb.csv.gz")
	gzipFile(t, src, func(w io.Writer) {
		zero := make([]byte, 1<<20)
		for range 64 {
			w.Write(zero)
		}
	})
	dir := t.TempDir()
	bills := &archive.Bills{Dir: dir, Ledger: storetest.MustOpen(t, store.Options{}), Now: time.Now}
	_, err := bills.Import(t.Context(), "wx", payrecon.WeChatPay, day, src, nil)
	if !errors.Is(err, archive.ErrTooLarge) {
		t.Fatalf("import of a 64 MiB bomb: %v, want ErrTooLarge", err)
	}
	var left int64
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			fi, _ := d.Info()
			left += fi.Size()
			t.Errorf("left in the archive: %s", p)
		}
		return nil
	})
}

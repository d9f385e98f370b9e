package archive

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/provider"
	"github.com/payrecon/payrecon/provider/alipay"
	"github.com/payrecon/payrecon/provider/wechatpay"
)

// ErrBillUnavailable is returned when the bill is still not ready at the
// deadline.
var ErrBillUnavailable = errors.New("bill still not available at the deadline")

// ErrTooLarge is returned when a compressed bill inflates past its limits
// (see [Bills.MaxBytes] and [Bills.MaxRatio]); nothing is archived. It is
// [provider.ErrTooLarge], which a download that decompresses returns.
var ErrTooLarge = provider.ErrTooLarge

// ErrRejected is returned when an archived bill fails to parse or fails
// its checks: it stays in the archive, marked rejected in the ledger, and
// is never read as the day's bill or a neighbour.
var ErrRejected = errors.New("bill rejected")

// Default limits on a compressed bill: decompressed at most 4 GiB and at
// most 200 times its compressed size.
const (
	DefaultMaxBytes = provider.DefaultInflateMaxBytes
	DefaultMaxRatio = provider.DefaultInflateMaxRatio
)

// Ledger records archived bills. *store.DB satisfies it.
type Ledger interface {
	// RecordBill records a bill (idempotent by account, day and SHA-256)
	// and returns its id.
	RecordBill(ctx context.Context, b payrecon.Bill) (int64, error)
	// LatestBill returns the newest bill of a day, or an error wrapping
	// payrecon.ErrNotFound.
	LatestBill(ctx context.Context, account string, day payrecon.Day) (payrecon.Bill, error)
}

// Downloader fetches a day's bill from a provider (provider.Client
// satisfies it).
type Downloader interface {
	DownloadBill(ctx context.Context, day time.Time, w io.Writer) (provider.BillFormat, error)
}

// Progress receives human progress lines; nil discards them.
type Progress func(format string, args ...any)

func (p Progress) say(format string, args ...any) {
	if p != nil {
		p(format, args...)
	}
}

// Bills obtains the bills of accounts and keeps them, raw, under
// Dir/{account}/{YYYY-MM-DD}/, recorded in the ledger.
type Bills struct {
	Dir    string
	Ledger Ledger
	Now    func() time.Time
	// Retry is the wait between attempts at a bill that is not ready
	// (default 10 minutes); Deadline bounds the whole wait.
	Retry, Deadline time.Duration
	// MaxBytes and MaxRatio bound a compressed bill once decompressed
	// (defaults [DefaultMaxBytes] and [DefaultMaxRatio]).
	MaxBytes int64
	MaxRatio int64
}

// Download fetches the day's bill, retrying while the provider says it is
// not ready or fails retryably, until the deadline. A day without business
// is recorded as an empty bill (Path "").
func (b *Bills) Download(ctx context.Context, account string, c Downloader, day payrecon.Day, say Progress) (payrecon.Bill, error) {
	deadline := time.Now().Add(b.Deadline)
	retry := b.Retry
	if retry <= 0 {
		retry = 10 * time.Minute
	}
	for attempt := 1; ; attempt++ {
		bill, err := b.downloadOnce(ctx, account, c, day, say)
		switch {
		case err == nil:
			return bill, nil
		case errors.Is(err, provider.ErrNoBill):
			say.say("  bill: the provider has no bill for %s (no business that day)", day)
			return b.record(ctx, payrecon.Bill{Account: account, Day: day, Format: payrecon.BillNone, SHA256: "empty", Origin: "download"}, say)
		case errors.Is(err, provider.ErrBillNotReady) || provider.IsRetryable(err):
			if !time.Now().Add(retry).Before(deadline) {
				return payrecon.Bill{}, fmt.Errorf("%w (after %d attempts; last: %v)", ErrBillUnavailable, attempt, err)
			}
			var pe *provider.Error
			if errors.As(err, &pe) {
				err = pe // the provider's words, without the temp-file path
			}
			say.say("  bill: not available yet (%v); retrying in %s", err, retry)
			if err := provider.Wait(ctx, retry); err != nil {
				return payrecon.Bill{}, err
			}
		default:
			var ce *provider.ConfigError
			if errors.As(err, &ce) {
				return payrecon.Bill{}, ce // the provider's words, without the temp-file path (it reads like a disk error)
			}
			return payrecon.Bill{}, err
		}
	}
}

// downloadOnce makes one attempt, writing the bill atomically into the
// archive.
func (b *Bills) downloadOnce(ctx context.Context, account string, c Downloader, day payrecon.Day, say Progress) (payrecon.Bill, error) {
	dir := filepath.Join(b.Dir, account, day.String())
	stamp := b.Now().UTC().Format("20060102T150405.000")
	path := filepath.Join(dir, stamp+".download")
	var format provider.BillFormat
	res, err := WriteFile(path, func(w io.Writer) error {
		var err error
		format, err = c.DownloadBill(ctx, day.Start(), limitedWriter{Writer: w, lim: b.limits()})
		return err
	})
	if err != nil {
		return payrecon.Bill{}, err
	}
	final := filepath.Join(dir, stamp+extension(format))
	if err := os.Rename(path, final); err != nil {
		return payrecon.Bill{}, err
	}
	return b.record(ctx, payrecon.Bill{Account: account, Day: day, Format: format, Path: final, SHA256: res.SHA256, Size: res.Size, Origin: "download"}, say)
}

// Import archives a bill file the merchant downloaded by hand (the
// provider's zip, the bare csv, or either gzipped) through the same path
// as a download. A gzipped file that inflates past the limits is refused
// with [ErrTooLarge] while it is copied, and nothing is archived.
func (b *Bills) Import(ctx context.Context, account string, p payrecon.Provider, day payrecon.Day, file string, say Progress) (payrecon.Bill, error) {
	in, err := os.Open(file)
	if err != nil {
		return payrecon.Bill{}, fmt.Errorf("import bill: %w", err)
	}
	defer in.Close()
	src, format, err := b.importSource(in, p)
	if err != nil {
		return payrecon.Bill{}, fmt.Errorf("import bill: %w", err)
	}
	path := filepath.Join(b.Dir, account, day.String(), b.Now().UTC().Format("20060102T150405.000")+extension(format))
	res, err := WriteFile(path, func(w io.Writer) error { _, err := io.Copy(w, src); return err })
	if err != nil {
		return payrecon.Bill{}, fmt.Errorf("import bill: %w", err)
	}
	return b.record(ctx, payrecon.Bill{Account: account, Day: day, Format: format, Path: path, SHA256: res.SHA256, Size: res.Size, Origin: "import"}, say)
}

// importSource is the bill's bytes (inflated within the limits when the
// file is gzipped) and its format: WeChat Pay bills are CSV; Alipay's are
// the zip when they start like one, the bare detail CSV otherwise.
func (b *Bills) importSource(in *os.File, p payrecon.Provider) (io.Reader, payrecon.BillFormat, error) {
	var src io.Reader = in
	if gzipped(in) {
		st, err := in.Stat()
		if err != nil {
			return nil, "", err
		}
		zr, err := gzip.NewReader(in)
		if err != nil {
			return nil, "", err
		}
		src = b.Inflated(zr, st.Size())
	}
	if p != payrecon.Alipay {
		return src, payrecon.BillWeChatCSV, nil
	}
	br := bufio.NewReader(src)
	if magic, _ := br.Peek(4); string(magic) == "PK\x03\x04" {
		return br, payrecon.BillAlipayZip, nil
	}
	return br, payrecon.BillAlipayCSV, nil
}

// gzipped reports whether f starts with the gzip magic, leaving it at the
// start.
func gzipped(f *os.File) bool {
	magic := make([]byte, 2)
	n, _ := f.ReadAt(magic, 0)
	return n == 2 && magic[0] == 0x1f && magic[1] == 0x8b
}

// Inflated caps r, the decompressed stream of compressed bytes, at the
// smaller of MaxBytes and MaxRatio times compressed: past it, reads fail
// with [ErrTooLarge].
func (b *Bills) Inflated(r io.Reader, compressed int64) io.Reader {
	return b.limits().Cap(r, func() int64 { return compressed })
}

func (b *Bills) limits() provider.InflateLimits {
	return provider.InflateLimits{MaxBytes: b.MaxBytes, MaxRatio: b.MaxRatio}
}

// limitedWriter is the writer a download fills: it tells a client that
// decompresses what it downloads (WeChat Pay's gzipped bills) the limits
// to decompress within.
type limitedWriter struct {
	io.Writer
	lim provider.InflateLimits
}

// InflateLimits returns the limits.
func (w limitedWriter) InflateLimits() provider.InflateLimits { return w.lim }

// record checks an archived bill (it must parse and pass its totals) and
// records it. A bill that fails is recorded rejected, its file kept, and
// [ErrRejected] returned; a file whose bytes are archived already is
// removed and the earlier copy kept.
func (b *Bills) record(ctx context.Context, bill payrecon.Bill, say Progress) (payrecon.Bill, error) {
	if bill.Path != "" {
		if _, err := ParseFile(bill.Path, bill.Format, func(payrecon.BillEntry) error { return nil }); err != nil {
			bill.Rejected = cut(err.Error(), 1<<10)
			if _, rerr := b.Ledger.RecordBill(ctx, bill); rerr != nil {
				return payrecon.Bill{}, errors.Join(err, rerr)
			}
			say.say("  bill: %s rejected, kept in the archive", bill.Path)
			return payrecon.Bill{}, fmt.Errorf("%w: %w", ErrRejected, err)
		}
		if prev, err := b.Ledger.LatestBill(ctx, bill.Account, bill.Day); err == nil && prev.SHA256 == bill.SHA256 && prev.Path != bill.Path {
			os.Remove(bill.Path)
			bill.Path = prev.Path
		}
	}
	id, err := b.Ledger.RecordBill(ctx, bill)
	if err != nil {
		return payrecon.Bill{}, err
	}
	bill.ID = id
	if bill.Path != "" {
		say.say("  bill: %s (%d bytes, sha256 %s…)", bill.Path, bill.Size, bill.SHA256[:12])
	}
	return bill, nil
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Neighbours streams to fn the rows of the archived bills of the days
// within hold days of day (day itself excluded), for carrying facts
// across midnight; nothing is held in memory. Days without an archived
// bill, or with only rejected ones, are skipped.
func (b *Bills) Neighbours(ctx context.Context, account string, day payrecon.Day, hold int, fn func(payrecon.BillEntry) error) error {
	for i := -hold; i <= hold; i++ {
		if i == 0 {
			continue
		}
		other := day.AddDays(i)
		bill, err := b.Ledger.LatestBill(ctx, account, other)
		if errors.Is(err, payrecon.ErrNotFound) || (err == nil && bill.Empty()) {
			continue
		}
		if err != nil {
			return err
		}
		if _, err := Parse(bill, fn); err != nil {
			return fmt.Errorf("adjacent bill %s: %w", other, err)
		}
	}
	return nil
}

func extension(f payrecon.BillFormat) string {
	if f == payrecon.BillAlipayZip {
		return ".csv.zip"
	}
	return ".csv"
}

// Parse parses an archived bill file by its format, streaming its rows to
// fn, and returns the totals the file states (checked against its rows).
func Parse(bill payrecon.Bill, fn func(payrecon.BillEntry) error) (payrecon.BillTotals, error) {
	return ParseFile(bill.Path, bill.Format, fn)
}

// ParseFile parses a bill file of the given format, streaming its rows to fn.
func ParseFile(path string, format payrecon.BillFormat, fn func(payrecon.BillEntry) error) (payrecon.BillTotals, error) {
	f, err := os.Open(path)
	if err != nil {
		return payrecon.BillTotals{}, err
	}
	defer f.Close()
	switch format {
	case payrecon.BillAlipayZip:
		st, err := f.Stat()
		if err != nil {
			return payrecon.BillTotals{}, err
		}
		return alipay.ParseBillZip(f, st.Size(), fn)
	case payrecon.BillAlipayCSV:
		return alipay.ParseBillCSV(f, fn)
	case payrecon.BillWeChatCSV:
		return wechatpay.ParseBill(f, fn)
	}
	return payrecon.BillTotals{}, fmt.Errorf("unknown bill format %q", format)
}

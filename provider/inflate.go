package provider

import (
	"errors"
	"fmt"
	"io"
)

// ErrTooLarge is returned while a compressed bill is decompressed past
// its [InflateLimits]: the bill is refused before it fills the disk.
var ErrTooLarge = errors.New("bill too large when decompressed")

// Default limits on a compressed bill: decompressed at most 4 GiB and at
// most 200 times its compressed size.
const (
	DefaultInflateMaxBytes = 4 << 30
	DefaultInflateMaxRatio = 200
)

// InflateLimits bound a compressed bill once decompressed: at most
// MaxBytes, and at most MaxRatio times its compressed size (zero: the
// defaults). The archive sets them from the config's limits block; a
// client that decompresses a download applies them with [InflateLimits.Cap].
type InflateLimits struct {
	MaxBytes, MaxRatio int64
}

// Cap returns r, a decompressed stream, failing reads with an error
// wrapping [ErrTooLarge] once it yields more than MaxBytes or more than
// MaxRatio times compressed(), the compressed bytes read so far (or the
// compressed file's size, when known).
func (l InflateLimits) Cap(r io.Reader, compressed func() int64) io.Reader {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultInflateMaxBytes
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = DefaultInflateMaxRatio
	}
	return &capReader{r: r, lim: l, compressed: compressed}
}

type capReader struct {
	r          io.Reader
	lim        InflateLimits
	compressed func() int64
	n          int64
}

func (c *capReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > c.lim.MaxBytes {
		return 0, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, c.lim.MaxBytes)
	}
	if z := max(c.compressed(), 1); c.n > c.lim.MaxRatio*z {
		return 0, fmt.Errorf("%w: more than %d times its compressed size (%d bytes from %d)", ErrTooLarge, c.lim.MaxRatio, c.n, z)
	}
	return n, err
}

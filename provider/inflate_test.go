package provider_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/payrecon/payrecon/provider"
)

func TestInflateLimitsCap(t *testing.T) {
	data := strings.Repeat("x", 1000)
	for _, tc := range []struct {
		lim        provider.InflateLimits
		compressed int64
		ok         bool
	}{
		{provider.InflateLimits{MaxBytes: 1000, MaxRatio: 10}, 100, true},
		{provider.InflateLimits{MaxBytes: 999, MaxRatio: 10}, 100, false},
		{provider.InflateLimits{MaxBytes: 1000, MaxRatio: 10}, 99, false},
		{provider.InflateLimits{}, 5, true},  // defaults: 200× 5 bytes
		{provider.InflateLimits{}, 4, false}, // 1000 > 200× 4
	} {
		var out bytes.Buffer
		_, err := io.Copy(&out, tc.lim.Cap(strings.NewReader(data), func() int64 { return tc.compressed }))
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, provider.ErrTooLarge)) {
			t.Errorf("%+v from %d: %v", tc.lim, tc.compressed, err)
		}
		if err != nil && out.Len() >= len(data) {
			t.Errorf("%+v from %d: all %d bytes passed before the refusal", tc.lim, tc.compressed, out.Len())
		}
	}
}

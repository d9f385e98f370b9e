package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
)

// The config's typed values. Each parses its YAML text once, when the file
// is read; the accepted syntax is part of the config contract. Errors give
// the reason only: the decoder adds the file, line and field.

// Duration is a Go duration such as "10m" or "200ms".
type Duration time.Duration

// UnmarshalYAML implements [yaml.Unmarshaler].
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		return fmt.Errorf("want a duration such as 10m or 200ms (got %s)", shown(n))
	}
	*d = Duration(v)
	return nil
}

func (d Duration) String() string { return time.Duration(d).String() }

// Rate is a percentage such as "0.60%", in hundredths of a percent (60).
// An empty value is 0, which turns the check it configures off.
type Rate int64

// UnmarshalYAML implements [yaml.Unmarshaler].
func (r *Rate) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("want a percentage such as 0.60%% (got %s)", shown(n))
	}
	if n.Value == "" {
		*r = 0
		return nil
	}
	v, ok := strings.CutSuffix(strings.TrimSpace(n.Value), "%")
	e4, err := payrecon.ParseYuanFixed(v, 2)
	if !ok || err != nil || e4 < 0 || e4 > 10000 {
		return fmt.Errorf("want a percentage such as 0.60%% (got %s)", shown(n))
	}
	*r = Rate(e4)
	return nil
}

// ByteSize is a size such as "256MiB", "1GiB", "512KiB" or a plain byte
// count; "off" (or empty) is 0.
type ByteSize int64

// UnmarshalYAML implements [yaml.Unmarshaler].
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	s := n.Value
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("want a size such as 256MiB or off (got %s)", shown(n))
	}
	if s == "off" || s == "" {
		*b = 0
		return nil
	}
	mult := int64(1)
	for suffix, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if v, ok := strings.CutSuffix(s, suffix); ok {
			s, mult = v, m
			break
		}
	}
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || v < 0 {
		return fmt.Errorf("want a size such as 256MiB or off (got %s)", shown(n))
	}
	*b = ByteSize(v * mult)
	return nil
}

// Tiers is the sweep schedule, "every/until, …" with growing until, such as
// "1m/10m, 10m/1h, 1h/24h".
type Tiers []jobs.Tier

// UnmarshalYAML implements [yaml.Unmarshaler].
func (t *Tiers) UnmarshalYAML(n *yaml.Node) error {
	bad := fmt.Errorf("want every/until pairs with growing until, such as \"1m/10m, 10m/1h, 1h/24h\" (got %s)", shown(n))
	if n.Kind != yaml.ScalarNode {
		return bad
	}
	var out Tiers
	for _, part := range strings.Split(n.Value, ",") {
		every, until, ok := strings.Cut(strings.TrimSpace(part), "/")
		e, err1 := time.ParseDuration(strings.TrimSpace(every))
		u, err2 := time.ParseDuration(strings.TrimSpace(until))
		if !ok || err1 != nil || err2 != nil || e <= 0 || u <= 0 || e > u || (len(out) > 0 && u <= out[len(out)-1].Until) {
			return bad
		}
		out = append(out, jobs.Tier{Every: e, Until: u})
	}
	*t = out
	return nil
}

// shown is a node's value for an error: quoted text, or what it is when it
// is not a single value.
func shown(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return strconv.Quote(n.Value)
}

// Date is a bill day written YYYY-MM-DD, a date in Beijing time; empty is
// the zero [payrecon.Day] (unset).
type Date payrecon.Day

// UnmarshalYAML implements [yaml.Unmarshaler].
func (d *Date) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("want a date such as 2026-11-20 (got %s)", shown(n))
	}
	if n.Value == "" {
		*d = Date{}
		return nil
	}
	v, err := payrecon.ParseDay(strings.TrimSpace(n.Value))
	if err != nil {
		return fmt.Errorf("want a date such as 2026-11-20 (got %s)", shown(n))
	}
	*d = Date(v)
	return nil
}

package config

import "time"

// Limits bound what an unauthenticated request or a downloaded file may
// cost. Every default is listed in the README's "Limits" section.
type Limits struct {
	// MaxPathBytes caps a notification request's path; a longer one is
	// answered 404 before anything is stored (default 256).
	MaxPathBytes int `yaml:"max_path_bytes"`
	// MaxHeaderBytes caps a notification request's request line and
	// headers; more is answered 431 before anything is stored (default
	// 16 KiB).
	MaxHeaderBytes ByteSize `yaml:"max_header_bytes"`
	// QuarantineEntryBytes caps what one rejected notification stores:
	// allow-listed headers, the reason and a body prefix (default 16 KiB).
	QuarantineEntryBytes ByteSize `yaml:"quarantine_entry_bytes"`
	// QuarantineMaxBytes caps the quarantine; the oldest rows are dropped
	// first (default 64 MiB).
	QuarantineMaxBytes ByteSize `yaml:"quarantine_max_bytes"`
	// QuarantineMaxAge drops quarantined rows older than this (default
	// 720h, 30 days).
	QuarantineMaxAge Duration `yaml:"quarantine_max_age"`
	// BillMaxBytes caps a compressed bill once decompressed (default
	// 4 GiB); BillMaxRatio caps it at that many times its compressed size
	// (default 200). A bill past either is refused while it is written.
	BillMaxBytes ByteSize `yaml:"bill_max_bytes"`
	BillMaxRatio int64    `yaml:"bill_max_ratio"`
}

// DefaultLimits returns the limits a config file overrides.
func DefaultLimits() Limits {
	return Limits{MaxPathBytes: 256, MaxHeaderBytes: 16 << 10,
		QuarantineEntryBytes: 16 << 10, QuarantineMaxBytes: 64 << 20, QuarantineMaxAge: Duration(30 * 24 * time.Hour),
		BillMaxBytes: 4 << 30, BillMaxRatio: 200}
}

func (l Limits) validate() []error {
	var errs []error
	if l.MaxPathBytes < 64 || l.MaxPathBytes > 8<<10 {
		errs = append(errs, FieldErr("limits.max_path_bytes", "want 64 to 8192 (got %d)", l.MaxPathBytes))
	}
	if l.MaxHeaderBytes < 4<<10 || l.MaxHeaderBytes > 1<<20 {
		errs = append(errs, FieldErr("limits.max_header_bytes", "want 4KiB to 1MiB (got %d)", l.MaxHeaderBytes))
	}
	if l.QuarantineEntryBytes < 1<<10 || l.QuarantineEntryBytes > 1<<20 {
		errs = append(errs, FieldErr("limits.quarantine_entry_bytes", "want 1KiB to 1MiB (got %d)", l.QuarantineEntryBytes))
	}
	if l.QuarantineMaxBytes < ByteSize(l.QuarantineEntryBytes) {
		errs = append(errs, FieldErr("limits.quarantine_max_bytes", "want at least quarantine_entry_bytes (got %d)", l.QuarantineMaxBytes))
	}
	if l.QuarantineMaxAge < Duration(time.Hour) {
		errs = append(errs, FieldErr("limits.quarantine_max_age", "want at least 1h (got %s)", l.QuarantineMaxAge))
	}
	if l.BillMaxBytes < 1<<20 {
		errs = append(errs, FieldErr("limits.bill_max_bytes", "want at least 1MiB (got %d)", l.BillMaxBytes))
	}
	if l.BillMaxRatio < 10 {
		errs = append(errs, FieldErr("limits.bill_max_ratio", "want at least 10 (got %d)", l.BillMaxRatio))
	}
	return errs
}

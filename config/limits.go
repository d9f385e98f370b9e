package config

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
}

// DefaultLimits returns the limits a config file overrides.
func DefaultLimits() Limits {
	return Limits{MaxPathBytes: 256, MaxHeaderBytes: 16 << 10}
}

func (l Limits) validate() []error {
	var errs []error
	if l.MaxPathBytes < 64 || l.MaxPathBytes > 8<<10 {
		errs = append(errs, FieldErr("limits.max_path_bytes", "want 64 to 8192 (got %d)", l.MaxPathBytes))
	}
	if l.MaxHeaderBytes < 4<<10 || l.MaxHeaderBytes > 1<<20 {
		errs = append(errs, FieldErr("limits.max_header_bytes", "want 4KiB to 1MiB (got %d)", l.MaxHeaderBytes))
	}
	return errs
}

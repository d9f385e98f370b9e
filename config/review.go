package config

import "fmt"

// validateReview checks the console's operators and the write-off
// tolerance.
func (c *Config) validateReview() []error {
	var errs []error
	if c.Review.WriteOffMaxFen < 0 {
		errs = append(errs, FieldErr("review.write_off_max_fen", "want 0 or more fen (got %d)", c.Review.WriteOffMaxFen))
	}
	names := namePattern()
	seen := map[string]bool{}
	for i, op := range c.Admin.Operators {
		f := func(name string) string { return fmt.Sprintf("admin.operators[%d].%s", i, name) }
		if !names.MatchString(op.Name) {
			errs = append(errs, FieldErr(f("name"), "want letters, digits, '.', '_' or '-' (got %q)", op.Name))
		}
		if seen[op.Name] {
			errs = append(errs, FieldErr(f("name"), "duplicate operator %q", op.Name))
		}
		seen[op.Name] = true
		if op.TokenFile == "" {
			errs = append(errs, FieldErr(f("token_file"), "required"))
		}
	}
	return errs
}

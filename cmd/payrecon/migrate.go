package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/payrecon/payrecon/store"
)

// cmdMigrate: payrecon migrate -config F — apply pending migrations to the
// configured ledger (SQLite or PostgreSQL) and print its schema version.
// serve does the same on start; this does it ahead of a deploy.
func cmdMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate", stderr)
	path := fs.String("config", "", "config file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := readConfig(*path)
	if err != nil {
		return err
	}
	src, err := cfg.DatabaseSource(getenv)
	if err != nil {
		return fmt.Errorf("config %s: %w", *path, err)
	}
	db, err := openLedger(ctx, cfg, getenv)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer db.Close()
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	fmt.Fprintf(stdout, "schema %s: %s\n", v, store.Redact(src))
	return nil
}

// cmdCopyLedger: payrecon copy-ledger -from SQLITE_PATH -to POSTGRES_URL —
// move an existing ledger to PostgreSQL (every table, checked: row counts
// and money sums on both sides). The target must be empty. -to may be
// env:NAME, which keeps the password off the command line.
func cmdCopyLedger(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("copy-ledger", stderr)
	from := fs.String("from", "", "the SQLite ledger file to copy (stop serve first)")
	to := fs.String("to", "", "the empty PostgreSQL database: a postgres:// URL, or env:NAME")
	if err := fs.Parse(args); err != nil {
		return err
	}
	target := *to
	if name, ok := strings.CutPrefix(target, "env:"); ok {
		target = getenv(name)
	}
	if *from == "" || !store.IsPostgres(target) {
		return fmt.Errorf("%w: payrecon copy-ledger -from SQLITE_PATH -to POSTGRES_URL|env:NAME", errUsage)
	}
	if store.IsPostgres(*from) {
		return fmt.Errorf("%w: -from is a SQLite ledger file, not a URL", errUsage)
	}
	if _, err := os.Stat(*from); err != nil {
		return fmt.Errorf("copy ledger: %w", err) // opening would create an empty ledger
	}
	logger := slog.New(slog.DiscardHandler)
	src, err := store.Open(ctx, *from, store.Options{}, logger)
	if err != nil {
		return fmt.Errorf("copy ledger: %w", err)
	}
	defer src.Close()
	dst, err := store.Open(ctx, target, store.Options{}, logger)
	if err != nil {
		return fmt.Errorf("copy ledger: %w", err)
	}
	defer dst.Close()
	tables, err := store.CopyLedger(ctx, src, dst)
	if err != nil {
		if errors.Is(err, store.ErrTargetNotEmpty) {
			return fmt.Errorf("%w (copy-ledger only fills a new database)", err)
		}
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "table\trows\tmoney (fen, equal on both sides)")
	for _, t := range tables {
		var sums []string
		for col, v := range t.Sums {
			sums = append(sums, fmt.Sprintf("%s=%d", col, v))
		}
		slices.Sort(sums)
		fmt.Fprintf(tw, "%s\t%d\t%s\n", t.Name, t.Rows, strings.Join(sums, " "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "copied %s to %s: counts and sums verified\n", *from, store.Redact(target))
	return nil
}

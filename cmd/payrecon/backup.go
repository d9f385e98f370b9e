package main

import (
	"context"
	"fmt"
	"io"
)

// cmdBackup: payrecon backup -config F -o FILE — a consistent, checked copy
// of the live ledger, safe while serve runs.
func cmdBackup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("backup", stderr)
	path := fs.String("config", "", "config file")
	out := fs.String("o", "", "file to write the copy to (must not exist)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("%w: payrecon backup -config F -o FILE", errUsage)
	}
	cfg, err := readConfig(*path)
	if err != nil {
		return err
	}
	db, err := openLedger(ctx, cfg, getenv)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Backup(ctx, *out); err != nil {
		return err
	}
	c, err := db.Count(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup %s: integrity ok (the ledger held %d trades, %d refunds, %d notifications when it was taken)\n", *out, c.Trades, c.Refunds, c.Notifications)
	return nil
}

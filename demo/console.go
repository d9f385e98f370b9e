package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

// enableConsole gives the demo's payrecon an admin token, so its ops
// console (/console/) can be signed in to.
func (d *demo) enableConsole() error {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	d.consoleToken = hex.EncodeToString(b)
	if err := os.WriteFile(filepath.Join(d.dir, "keys", "console.token"), []byte(d.consoleToken+"\n"), 0o600); err != nil {
		return err
	}
	f, err := os.OpenFile(d.cfgPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString("\nadmin:\n  token_file: keys/console.token\n"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// printConsole says where the console is and how to sign in; with keep,
// it leaves everything running until ctx ends (Ctrl-C).
func (d *demo) printConsole(ctx context.Context, keep bool) {
	fmt.Fprintf(d.stdout, "\n== ops console: %s/console/  (sign in with the token %s)\n", d.target(), d.consoleToken)
	if !keep {
		fmt.Fprintln(d.stdout, "   (run the demo with -keep to leave the console up)")
		return
	}
	fmt.Fprintln(d.stdout, "   the console stays up until Ctrl-C")
	<-ctx.Done()
}

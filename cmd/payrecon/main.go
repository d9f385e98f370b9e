// Command payrecon receives Alipay and WeChat Pay notifications into a local
// SQLite ledger and reconciles it against the providers. Run
// "payrecon help" for the subcommands.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "payrecon:", err)
		os.Exit(1)
	}
}

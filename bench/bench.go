// Package bench holds payrecon's benchmarks. [Intake] measures verified,
// durable notifications per second through the real intake over loopback
// HTTP, beside a naive handler. [Reconcile] measures parsing a large
// provider bill and diffing it against as many ledger rows (then writing
// its workbook), beside a pandas merge of the same data and a raw excelize
// StreamWriter loop writing the same cells, each measure alone in a child
// process ([ReconcileChild]) so that its peak RSS is its own. Both print the tables the README's
// Performance section quotes. The caller, cmd/payrecon, supplies the
// wiring: how to start the intake, which binary to re-execute.
package bench

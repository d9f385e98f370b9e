package store_test

import (
	"testing"

	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// TestLedgerPostgres runs the conformance suite on PostgreSQL, each
// behaviour in a fresh schema (PAYRECON_TEST_POSTGRES; skipped without it).
func TestLedgerPostgres(t *testing.T) {
	storetest.PostgresURL(t) // skip the whole suite at once without a server
	storetest.TestLedger(t, func(t *testing.T) storetest.Ledger { return storetest.MustOpenPostgres(t, store.Options{}) })
}

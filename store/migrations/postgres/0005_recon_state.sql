-- PostgreSQL twin of ../0005_recon_state.sql.
-- Where each trade and refund stands in the reconciliation, and the run
-- that set it. Set by the daily run from its resolutions; it only rises
-- (UNRECONCILED < PENDING < NEEDS_REVIEW < MATCHED < RECOVERED =
-- CONFIRMED_ABSENT), so a re-run never downgrades it.
ALTER TABLE trades ADD COLUMN recon_state TEXT COLLATE "C" NOT NULL DEFAULT 'UNRECONCILED'
    CHECK (recon_state IN ('UNRECONCILED','PENDING','NEEDS_REVIEW','MATCHED','RECOVERED','CONFIRMED_ABSENT'));
ALTER TABLE trades ADD COLUMN recon_run_id BIGINT;
CREATE INDEX trades_recon_state ON trades (account, recon_state);

ALTER TABLE refunds ADD COLUMN recon_state TEXT COLLATE "C" NOT NULL DEFAULT 'UNRECONCILED'
    CHECK (recon_state IN ('UNRECONCILED','PENDING','NEEDS_REVIEW','MATCHED','RECOVERED','CONFIRMED_ABSENT'));
ALTER TABLE refunds ADD COLUMN recon_run_id BIGINT;

-- A discrepancy keeps the run that reached its resolution (a re-run
-- carries a final one over) and the ledger status it was found with.
ALTER TABLE discrepancies ADD COLUMN resolved_run_id BIGINT;
ALTER TABLE discrepancies ADD COLUMN ledger_status TEXT COLLATE "C" NOT NULL DEFAULT '';

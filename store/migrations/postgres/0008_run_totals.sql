-- PostgreSQL twin of ../0008_run_totals.sql.
-- How each run's day ties out: bill, ledger before, repairs, ledger after
-- and the difference still open (JSON of payrecon.TieOut; '{}' for runs
-- that computed none: failed, or older than this migration).
ALTER TABLE recon_runs ADD COLUMN totals TEXT COLLATE "C" NOT NULL DEFAULT '{}';

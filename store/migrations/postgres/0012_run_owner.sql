-- PostgreSQL twin of ../0012_run_owner.sql.
-- The process that runs a reconciliation or job run ("boot=… pid=…
-- start=…", see store.ProcessOwner), so a run left `running` by a process
-- that died can be told from a live one. '' for runs recorded before.
ALTER TABLE recon_runs ADD COLUMN owner TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE job_runs ADD COLUMN owner TEXT COLLATE "C" NOT NULL DEFAULT '';

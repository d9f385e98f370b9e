-- The process that runs a reconciliation or job run ("boot=… pid=…
-- start=…", see store.ProcessOwner), so a run left `running` by a process
-- that died (kill -9, power loss) can be told from a live one and marked
-- failed when payrecon next starts. '' for runs recorded before.
ALTER TABLE recon_runs ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE job_runs ADD COLUMN owner TEXT NOT NULL DEFAULT '';

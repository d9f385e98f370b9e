-- Hardening (issue 11).
--
-- The quarantine is capped: each row counts what it stores, a single row
-- keeps the running totals (kept by triggers, so every insert and delete
-- in any transaction is counted), and the oldest rows are dropped first.
ALTER TABLE quarantine ADD COLUMN stored_bytes INTEGER NOT NULL DEFAULT 0;
UPDATE quarantine SET stored_bytes = length(body) + length(headers) + length(detail);
CREATE TABLE quarantine_usage (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    rows    INTEGER NOT NULL,
    bytes   INTEGER NOT NULL,
    dropped INTEGER NOT NULL    -- rows dropped by the cap or by age, ever
);
INSERT INTO quarantine_usage SELECT 1, count(*), coalesce(sum(stored_bytes), 0), 0 FROM quarantine;
CREATE TRIGGER quarantine_usage_insert AFTER INSERT ON quarantine BEGIN
    UPDATE quarantine_usage SET rows = rows + 1, bytes = bytes + NEW.stored_bytes WHERE id = 1;
END;
CREATE TRIGGER quarantine_usage_delete AFTER DELETE ON quarantine BEGIN
    UPDATE quarantine_usage SET rows = rows - 1, bytes = bytes - OLD.stored_bytes, dropped = dropped + 1 WHERE id = 1;
END;

-- /readyz writes 64 KiB here, so a full disk shows before notifications fail.
CREATE TABLE health_probe (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    at  TEXT NOT NULL,
    pad BLOB NOT NULL
);

-- A bill that failed to parse or failed its totals stays archived, marked
-- rejected with the reason, and is never the day's bill nor a neighbour.
ALTER TABLE bills ADD COLUMN rejected TEXT NOT NULL DEFAULT '';

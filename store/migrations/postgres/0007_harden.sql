-- PostgreSQL twin of ../0007_harden.sql. Hardening (issue 11).
--
-- The quarantine is capped: each row counts what it stores, a single row
-- keeps the running totals (kept by triggers, so every insert and delete
-- in any transaction is counted), and the oldest rows are dropped first.
ALTER TABLE quarantine ADD COLUMN stored_bytes BIGINT NOT NULL DEFAULT 0;
UPDATE quarantine SET stored_bytes = octet_length(body) + octet_length(headers) + octet_length(detail);
CREATE TABLE quarantine_usage (
    id      BIGINT PRIMARY KEY CHECK (id = 1),
    rows    BIGINT NOT NULL,
    bytes   BIGINT NOT NULL,
    dropped BIGINT NOT NULL    -- rows dropped by the cap or by age, ever
);
INSERT INTO quarantine_usage SELECT 1, count(*), coalesce(sum(stored_bytes), 0), 0 FROM quarantine;
CREATE FUNCTION quarantine_usage_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE quarantine_usage SET rows = rows + 1, bytes = bytes + NEW.stored_bytes WHERE id = 1;
    ELSE
        UPDATE quarantine_usage SET rows = rows - 1, bytes = bytes - OLD.stored_bytes, dropped = dropped + 1 WHERE id = 1;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER quarantine_usage_insert AFTER INSERT ON quarantine FOR EACH ROW EXECUTE FUNCTION quarantine_usage_count();
CREATE TRIGGER quarantine_usage_delete AFTER DELETE ON quarantine FOR EACH ROW EXECUTE FUNCTION quarantine_usage_count();

-- /readyz writes 64 KiB here, so a full disk shows before notifications fail.
CREATE TABLE health_probe (
    id  BIGINT PRIMARY KEY CHECK (id = 1),
    at  TEXT COLLATE "C" NOT NULL,
    pad BYTEA NOT NULL
);

-- A bill that failed to parse or failed its totals stays archived, marked
-- rejected with the reason, and is never the day's bill nor a neighbour.
ALTER TABLE bills ADD COLUMN rejected TEXT COLLATE "C" NOT NULL DEFAULT '';

-- SQLite's randomblob(n), which the /readyz probe writes (random, so that
-- TOAST compression cannot shrink it).
CREATE FUNCTION randomblob(n integer) RETURNS bytea LANGUAGE sql VOLATILE AS $$
    SELECT decode(string_agg(md5(random()::text), ''), 'hex') FROM generate_series(1, (n + 15) / 16)
$$;

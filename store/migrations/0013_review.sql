-- Manual review (issue 12): a person settles an open item, and the trade
-- or refund becomes RESOLVED_MANUALLY, the highest recon_state. SQLite
-- cannot change a CHECK constraint in place, so trades and refunds are
-- rebuilt with the wider one (the documented 12-step procedure; no table
-- references them, so the foreign keys are unaffected). Columns and
-- indexes are those of migrations 0001 and 0005.
CREATE TABLE trades_0013 (
    account           TEXT    NOT NULL,
    provider          TEXT    NOT NULL,
    out_trade_no      TEXT    NOT NULL,
    provider_trade_no TEXT    NOT NULL DEFAULT '',
    status            TEXT    NOT NULL CHECK (status IN ('PENDING','CLOSED','PAID','REFUNDED')),
    amount_fen        INTEGER,
    refunded_fen      INTEGER NOT NULL DEFAULT 0,
    paid_at           TEXT,
    closed_at         TEXT,
    source            TEXT    NOT NULL CHECK (source IN ('notify','query','bill')),
    source_ref        TEXT    NOT NULL,
    status_ref        TEXT    NOT NULL,
    created_at        TEXT    NOT NULL,
    updated_at        TEXT    NOT NULL,
    recon_state       TEXT    NOT NULL DEFAULT 'UNRECONCILED'
        CHECK (recon_state IN ('UNRECONCILED','PENDING','NEEDS_REVIEW','MATCHED','RECOVERED','CONFIRMED_ABSENT','RESOLVED_MANUALLY')),
    recon_run_id      INTEGER,
    PRIMARY KEY (account, out_trade_no)
);
INSERT INTO trades_0013 (account, provider, out_trade_no, provider_trade_no, status, amount_fen, refunded_fen, paid_at, closed_at,
    source, source_ref, status_ref, created_at, updated_at, recon_state, recon_run_id)
SELECT account, provider, out_trade_no, provider_trade_no, status, amount_fen, refunded_fen, paid_at, closed_at,
    source, source_ref, status_ref, created_at, updated_at, recon_state, recon_run_id FROM trades;
DROP TABLE trades;
ALTER TABLE trades_0013 RENAME TO trades;
CREATE INDEX trades_paid_at ON trades (account, paid_at);
CREATE INDEX trades_provider_trade_no ON trades (account, provider_trade_no);
CREATE INDEX trades_recon_state ON trades (account, recon_state);

CREATE TABLE refunds_0013 (
    account            TEXT    NOT NULL,
    out_refund_no      TEXT    NOT NULL,
    out_trade_no       TEXT    NOT NULL,
    provider_refund_no TEXT    NOT NULL DEFAULT '',
    amount_fen         INTEGER NOT NULL,
    total_fen          INTEGER,
    status             TEXT    NOT NULL CHECK (status IN ('PROCESSING','ABNORMAL','CLOSED','SUCCESS')),
    refunded_at        TEXT,
    source             TEXT    NOT NULL,
    source_ref         TEXT    NOT NULL,
    created_at         TEXT    NOT NULL,
    updated_at         TEXT    NOT NULL,
    recon_state        TEXT    NOT NULL DEFAULT 'UNRECONCILED'
        CHECK (recon_state IN ('UNRECONCILED','PENDING','NEEDS_REVIEW','MATCHED','RECOVERED','CONFIRMED_ABSENT','RESOLVED_MANUALLY')),
    recon_run_id       INTEGER,
    PRIMARY KEY (account, out_refund_no)
);
INSERT INTO refunds_0013 (account, out_refund_no, out_trade_no, provider_refund_no, amount_fen, total_fen, status, refunded_at,
    source, source_ref, created_at, updated_at, recon_state, recon_run_id)
SELECT account, out_refund_no, out_trade_no, provider_refund_no, amount_fen, total_fen, status, refunded_at,
    source, source_ref, created_at, updated_at, recon_state, recon_run_id FROM refunds;
DROP TABLE refunds;
ALTER TABLE refunds_0013 RENAME TO refunds;
CREATE INDEX refunds_trade ON refunds (account, out_trade_no);

-- Who made a manual resolution, and why (empty for the daily run's repairs).
ALTER TABLE audit ADD COLUMN operator TEXT NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN remark TEXT NOT NULL DEFAULT '';

-- Every query a person asked again (payrecon review requery, the console),
-- with the provider's answer, by the trade or refund it was about (items
-- are replaced when their day is re-run; these stay).
CREATE TABLE review_queries (
    id       INTEGER PRIMARY KEY,
    at       TEXT NOT NULL,
    account  TEXT NOT NULL,
    object   TEXT NOT NULL,   -- trade:<out_trade_no> | refund:<out_refund_no>
    operator TEXT NOT NULL,
    answer   TEXT NOT NULL
);
CREATE INDEX review_queries_object ON review_queries (account, object);

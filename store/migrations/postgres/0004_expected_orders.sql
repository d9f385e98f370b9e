-- PostgreSQL twin of ../0004_expected_orders.sql.
-- Orders the merchant's system expects to be paid (same-day sweep). An
-- order with no notification is queried on a tiered schedule.
CREATE TABLE expected_orders (
    account       TEXT COLLATE "C"    NOT NULL,
    out_trade_no  TEXT COLLATE "C"    NOT NULL,
    amount_fen    BIGINT NOT NULL,
    created_at    TEXT COLLATE "C"    NOT NULL,   -- when the merchant created the order (UTC)
    registered_at TEXT COLLATE "C"    NOT NULL,
    status        TEXT COLLATE "C"    NOT NULL,   -- waiting | paid | recovered | expired
    next_check_at TEXT COLLATE "C"    NOT NULL,
    checks        BIGINT NOT NULL DEFAULT 0,
    last_result   TEXT COLLATE "C"    NOT NULL DEFAULT '',
    PRIMARY KEY (account, out_trade_no)
);
CREATE INDEX expected_orders_due ON expected_orders (status, next_check_at);

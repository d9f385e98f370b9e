-- Orders the merchant's system expects to be paid (same-day sweep). An
-- order with no notification is queried on a tiered schedule.
CREATE TABLE expected_orders (
    account       TEXT    NOT NULL,
    out_trade_no  TEXT    NOT NULL,
    amount_fen    INTEGER NOT NULL,
    created_at    TEXT    NOT NULL,   -- when the merchant created the order (UTC)
    registered_at TEXT    NOT NULL,
    status        TEXT    NOT NULL,   -- waiting | paid | recovered | expired
    next_check_at TEXT    NOT NULL,
    checks        INTEGER NOT NULL DEFAULT 0,
    last_result   TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (account, out_trade_no)
);
CREATE INDEX expected_orders_due ON expected_orders (status, next_check_at);

-- Raw notifications, verbatim. One row per notification as the provider
-- identifies it (dedup_key); redeliveries only bump deliveries.
CREATE TABLE notifications (
    id               INTEGER PRIMARY KEY,
    account          TEXT    NOT NULL,
    provider         TEXT    NOT NULL,
    protocol         TEXT    NOT NULL,
    dedup_key        TEXT    NOT NULL,
    event_type       TEXT    NOT NULL,
    event_kind       TEXT    NOT NULL,
    out_trade_no     TEXT    NOT NULL DEFAULT '',
    signed_by        TEXT    NOT NULL,
    headers          TEXT    NOT NULL,   -- JSON object of the request headers
    body             BLOB    NOT NULL,   -- exactly as received
    received_at      TEXT    NOT NULL,   -- UTC
    last_received_at TEXT    NOT NULL,
    deliveries       INTEGER NOT NULL DEFAULT 1,
    UNIQUE (account, dedup_key)
);

-- One row per trade. amount_fen is NULL until a message states it.
-- status only moves forward: PENDING < CLOSED < PAID < REFUNDED.
CREATE TABLE trades (
    account           TEXT    NOT NULL,
    provider          TEXT    NOT NULL,
    out_trade_no      TEXT    NOT NULL,
    provider_trade_no TEXT    NOT NULL DEFAULT '',
    status            TEXT    NOT NULL CHECK (status IN ('PENDING','CLOSED','PAID','REFUNDED')),
    amount_fen        INTEGER,
    refunded_fen      INTEGER NOT NULL DEFAULT 0,
    paid_at           TEXT,
    closed_at         TEXT,
    source            TEXT    NOT NULL CHECK (source IN ('notify','query','bill')),  -- how we first learned of it
    source_ref        TEXT    NOT NULL,  -- e.g. notification:42
    status_ref        TEXT    NOT NULL,  -- what set the current status
    created_at        TEXT    NOT NULL,
    updated_at        TEXT    NOT NULL,
    PRIMARY KEY (account, out_trade_no)
);
CREATE INDEX trades_paid_at ON trades (account, paid_at);
CREATE INDEX trades_provider_trade_no ON trades (account, provider_trade_no);

-- One row per refund, keyed by the merchant refund number.
CREATE TABLE refunds (
    account            TEXT    NOT NULL,
    out_refund_no      TEXT    NOT NULL,
    out_trade_no       TEXT    NOT NULL,
    provider_refund_no TEXT    NOT NULL DEFAULT '',
    amount_fen         INTEGER NOT NULL,
    total_fen          INTEGER,          -- Alipay: total refunded so far, as stated
    status             TEXT    NOT NULL CHECK (status IN ('PROCESSING','ABNORMAL','CLOSED','SUCCESS')),
    refunded_at        TEXT,
    source             TEXT    NOT NULL,
    source_ref         TEXT    NOT NULL,
    created_at         TEXT    NOT NULL,
    updated_at         TEXT    NOT NULL,
    PRIMARY KEY (account, out_refund_no)
);
CREATE INDEX refunds_trade ON refunds (account, out_trade_no);

-- Outgoing transfers (Alipay alipay.fund.trans.order.changed).
CREATE TABLE transfers (
    account    TEXT    NOT NULL,
    out_biz_no TEXT    NOT NULL,
    order_id   TEXT    NOT NULL DEFAULT '',
    amount_fen INTEGER NOT NULL,
    status     TEXT    NOT NULL,
    paid_at    TEXT,
    source     TEXT    NOT NULL,
    source_ref TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    updated_at TEXT    NOT NULL,
    PRIMARY KEY (account, out_biz_no)
);

-- Provenance: every event applied to the ledger, in order.
CREATE TABLE ledger_events (
    id            INTEGER PRIMARY KEY,
    account       TEXT NOT NULL,
    kind          TEXT NOT NULL,
    out_trade_no  TEXT NOT NULL DEFAULT '',
    out_refund_no TEXT NOT NULL DEFAULT '',
    source        TEXT NOT NULL,
    source_ref    TEXT NOT NULL,
    status_before TEXT NOT NULL DEFAULT '',
    status_after  TEXT NOT NULL DEFAULT '',
    applied_at    TEXT NOT NULL
);
CREATE INDEX ledger_events_trade ON ledger_events (account, out_trade_no);

-- Rejected notifications, kept for inspection; they never touch the ledger.
CREATE TABLE quarantine (
    id             INTEGER PRIMARY KEY,
    received_at    TEXT    NOT NULL,
    account        TEXT    NOT NULL,
    provider       TEXT    NOT NULL,   -- configured provider, or guessed from the body
    reason         TEXT    NOT NULL,   -- stable code, see payrecon.RejectReason
    detail         TEXT    NOT NULL,
    method         TEXT    NOT NULL,
    remote_addr    TEXT    NOT NULL,
    headers        TEXT    NOT NULL,
    body           BLOB    NOT NULL,   -- at most the first 64 KiB
    body_size      INTEGER NOT NULL,
    body_truncated INTEGER NOT NULL
);
CREATE INDEX quarantine_received ON quarantine (received_at);

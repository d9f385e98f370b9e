-- The transactional outbox: one event per ledger fact, written in the same
-- transaction as the ledger change it describes, forwarded to the
-- merchant's app (package forward).
CREATE TABLE events (
    seq        INTEGER PRIMARY KEY,          -- order of writing; the cursor of /api/events
    event_id   TEXT    NOT NULL UNIQUE,      -- evt_…, the webhook-id
    account    TEXT    NOT NULL,
    fact_key   TEXT    NOT NULL,             -- payment:O1, refund:R1:succeeded, disputed:O1, …
    type       TEXT    NOT NULL,
    provider   TEXT    NOT NULL,
    stream     TEXT    NOT NULL,             -- the trade (or transfer) it belongs to
    source     TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    body       BLOB    NOT NULL,             -- exactly what is posted
    UNIQUE (account, fact_key)
);
CREATE INDEX events_created ON events (created_at);
CREATE INDEX events_account ON events (account, seq);

-- The configured endpoints, synced from the config when serve starts.
CREATE TABLE endpoints (
    name        TEXT PRIMARY KEY,
    accounts    TEXT NOT NULL DEFAULT '',    -- ",a,b," or '' for every account
    disabled_at TEXT,                        -- set when the endpoint answered 410 Gone
    disabled_reason TEXT NOT NULL DEFAULT ''
);

-- One row per (endpoint, event): created with the event for every endpoint
-- that takes its account.
CREATE TABLE event_deliveries (
    endpoint     TEXT    NOT NULL,
    seq          INTEGER NOT NULL REFERENCES events (seq),
    stream       TEXT    NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('pending','delivered','failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      TEXT    NOT NULL,
    last_error   TEXT    NOT NULL DEFAULT '',
    delivered_at TEXT,
    PRIMARY KEY (endpoint, seq)
);
CREATE INDEX event_deliveries_due ON event_deliveries (status, endpoint, next_at);
CREATE INDEX event_deliveries_stream ON event_deliveries (endpoint, stream, status, seq);

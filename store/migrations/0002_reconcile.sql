-- Every bill file payrecon fetched or was given, archived raw before parsing.
CREATE TABLE bills (
    id         INTEGER PRIMARY KEY,
    account    TEXT    NOT NULL,
    bill_date  TEXT    NOT NULL,   -- YYYY-MM-DD, Beijing time
    format     TEXT    NOT NULL,   -- alipay-zip | wechat-csv
    path       TEXT    NOT NULL,
    sha256     TEXT    NOT NULL,
    size       INTEGER NOT NULL,
    origin     TEXT    NOT NULL,   -- download | import
    fetched_at TEXT    NOT NULL,
    UNIQUE (account, bill_date, sha256)
);

-- One row per reconciliation of an (account, day).
CREATE TABLE recon_runs (
    id          INTEGER PRIMARY KEY,
    account     TEXT    NOT NULL,
    bill_date   TEXT    NOT NULL,
    started_at  TEXT    NOT NULL,
    finished_at TEXT,
    status      TEXT    NOT NULL,  -- running | ok | failed
    trigger     TEXT    NOT NULL,  -- cli | cron | catch-up
    bill_id     INTEGER REFERENCES bills(id),
    counts      TEXT    NOT NULL DEFAULT '{}',
    workbook    TEXT    NOT NULL DEFAULT '',
    error       TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX recon_runs_day ON recon_runs (account, bill_date);

-- The latest diff of each (account, day); replaced as a whole on re-run.
CREATE TABLE discrepancies (
    id                INTEGER PRIMARY KEY,
    run_id            INTEGER NOT NULL REFERENCES recon_runs(id),
    account           TEXT    NOT NULL,
    bill_date         TEXT    NOT NULL,
    code              TEXT    NOT NULL,
    kind              TEXT    NOT NULL,
    out_trade_no      TEXT    NOT NULL,
    provider_trade_no TEXT    NOT NULL,
    out_refund_no     TEXT    NOT NULL,
    bill_fen          INTEGER,
    ledger_fen        INTEGER,
    note              TEXT    NOT NULL,
    query_result      TEXT    NOT NULL DEFAULT '',
    resolution        TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX discrepancies_day ON discrepancies (account, bill_date);

-- Every repair: what changed, from what to what, why, on which evidence.
CREATE TABLE audit (
    id         INTEGER PRIMARY KEY,
    at         TEXT    NOT NULL,
    account    TEXT    NOT NULL,
    bill_date  TEXT    NOT NULL,
    run_id     INTEGER,
    object     TEXT    NOT NULL,   -- trade:<out_trade_no> | refund:<out_refund_no>
    field      TEXT    NOT NULL,
    old_value  TEXT    NOT NULL,
    new_value  TEXT    NOT NULL,
    reason     TEXT    NOT NULL,
    evidence   TEXT    NOT NULL
);
CREATE INDEX audit_object ON audit (account, object);

-- Scheduled and manual job runs.
CREATE TABLE job_runs (
    id          INTEGER PRIMARY KEY,
    job         TEXT NOT NULL,
    account     TEXT NOT NULL,
    day         TEXT NOT NULL,
    trigger     TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    status      TEXT NOT NULL,   -- running | ok | failed
    error       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX job_runs_day ON job_runs (job, account, day);

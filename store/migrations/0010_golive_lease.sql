-- When each account went live: the first start of serve on the ledger.
-- Before that instant a trade the ledger lacks is no dropped callback
-- (BEFORE_START). A ledger that already received notifications went live
-- with its first one.
CREATE TABLE golive (
    account TEXT PRIMARY KEY,
    at      TEXT NOT NULL  -- UTC
);
INSERT INTO golive (account, at) SELECT account, min(received_at) FROM notifications GROUP BY account;

-- The per-(account, day) run lease: one run at a time reconciles a day.
-- holder is unique per acquisition; a lease past expires_at may be taken
-- over.
CREATE TABLE run_leases (
    account    TEXT    NOT NULL,
    bill_date  TEXT    NOT NULL,
    holder     TEXT    NOT NULL,
    pid        INTEGER NOT NULL,
    host       TEXT    NOT NULL,
    since      TEXT    NOT NULL,  -- UTC
    expires_at TEXT    NOT NULL,  -- UTC
    PRIMARY KEY (account, bill_date)
);

-- PostgreSQL twin of ../0010_golive_lease.sql.
-- When each account went live: the first start of serve on the ledger.
-- Before that instant a trade the ledger lacks is no dropped callback
-- (BEFORE_START). A ledger that already received notifications went live
-- with its first one.
CREATE TABLE golive (
    account TEXT COLLATE "C" PRIMARY KEY,
    at      TEXT COLLATE "C" NOT NULL  -- UTC
);
INSERT INTO golive (account, at) SELECT account, min(received_at) FROM notifications GROUP BY account;

-- The per-(account, day) run lease: one run at a time reconciles a day.
-- holder is unique per acquisition; a lease past expires_at may be taken
-- over.
CREATE TABLE run_leases (
    account    TEXT COLLATE "C" NOT NULL,
    bill_date  TEXT COLLATE "C" NOT NULL,
    holder     TEXT COLLATE "C" NOT NULL,
    pid        BIGINT           NOT NULL,
    host       TEXT COLLATE "C" NOT NULL,
    since      TEXT COLLATE "C" NOT NULL,  -- UTC
    expires_at TEXT COLLATE "C" NOT NULL,  -- UTC
    PRIMARY KEY (account, bill_date)
);

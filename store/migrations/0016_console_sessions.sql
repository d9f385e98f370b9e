-- Console sessions (package console): one row per signed-in browser, keyed
-- by the SHA-256 of its cookie value, so the ledger never holds a cookie
-- that signs anyone in. Kept in the ledger so a restart does not sign
-- everyone out and every replica behind a load balancer knows every
-- session. token_fp fingerprints the operator's token at sign-in: a
-- changed token ends the operator's sessions.
CREATE TABLE console_sessions (
    id_hash    TEXT PRIMARY KEY,
    operator   TEXT NOT NULL,
    token_fp   TEXT NOT NULL,
    csrf       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX console_sessions_expires ON console_sessions (expires_at);

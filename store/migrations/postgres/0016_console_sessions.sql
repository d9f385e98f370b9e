-- PostgreSQL twin of ../0016_console_sessions.sql.
CREATE TABLE console_sessions (
    id_hash    TEXT COLLATE "C" PRIMARY KEY,
    operator   TEXT COLLATE "C" NOT NULL,
    token_fp   TEXT COLLATE "C" NOT NULL,
    csrf       TEXT COLLATE "C" NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    expires_at TEXT COLLATE "C" NOT NULL
);
CREATE INDEX console_sessions_expires ON console_sessions (expires_at);

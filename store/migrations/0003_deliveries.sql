-- Outbound deliveries (alerts, report e-mails): one row per attempt series,
-- so a cause is delivered once per channel and window.
CREATE TABLE deliveries (
    id        INTEGER PRIMARY KEY,
    channel   TEXT    NOT NULL,
    key       TEXT    NOT NULL,
    at        TEXT    NOT NULL,
    status    TEXT    NOT NULL,   -- sent | failed
    attempts  INTEGER NOT NULL,
    error     TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX deliveries_key ON deliveries (channel, key, at);

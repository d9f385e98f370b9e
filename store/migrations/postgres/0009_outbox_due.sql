-- PostgreSQL twin of ../0009_outbox_due.sql.
-- The delivery worker reads the due heads in (next_at, seq) order and
-- stops at its limit: this index walks them in that order, so a read
-- costs the rows it returns, not the whole pending backlog (the index it
-- replaces, on (status, endpoint, next_at), made SQLite read and sort
-- every pending delivery, bodies included, on each read).
CREATE INDEX event_deliveries_next ON event_deliveries (status, next_at, seq);
DROP INDEX event_deliveries_due;

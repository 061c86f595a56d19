-- Where `flowgate sync` stopped, per source: the vendor and its cursor (a time or a
-- token), written in the same transaction as the page's events, so a sync resumes where
-- the last committed page left it. No credential is ever stored.
CREATE TABLE sync_cursors (
    source TEXT PRIMARY KEY,
    vendor TEXT NOT NULL,
    cursor TEXT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

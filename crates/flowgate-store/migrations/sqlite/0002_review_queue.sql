-- The audit review queue: sampled `act` decisions (by audit sequence number) and their
-- reviews. Rows are added by sampling and updated once, when reviewed.
CREATE TABLE review_queue (
    audit_seq INTEGER PRIMARY KEY,
    ticket TEXT NOT NULL,
    intent TEXT NOT NULL,
    band TEXT NOT NULL,
    confidence REAL NOT NULL,
    decided_at_ms INTEGER NOT NULL,
    sampled_at_ms INTEGER NOT NULL,
    verdict TEXT,
    category TEXT,
    reviewer TEXT,
    note TEXT,
    reviewed_at_ms INTEGER
);

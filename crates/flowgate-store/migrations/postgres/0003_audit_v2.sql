-- Audit chain version 2: every record names its kind and its actor, and its hash covers every
-- column (sequence, recorded time, kind, actor, previous hash, record). Records written before
-- this migration keep version 1 and their hashes; a `chain_version` record links the two.
ALTER TABLE audit_log ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE audit_log ADD COLUMN kind TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN actor TEXT NOT NULL DEFAULT '';

-- Shadow reviews: decisions the AI did not act on (an intent in assist mode, or below its
-- threshold), sampled so that a person judges what the AI would have done. They are evidence
-- for the intent's threshold, never counted as act decisions.
ALTER TABLE review_queue ADD COLUMN shadow BOOLEAN NOT NULL DEFAULT FALSE;

-- What a reviewer must see beside a decision: the ticket's text, the proposed answer, its
-- sources and the reasons. Personal data: kept for the retention period or until the
-- customer's erasure, then set to NULL. The decision's audit record carries the text's
-- SHA-256, so the chain stays verifiable after the text is gone.
CREATE TABLE decision_texts (
    audit_seq BIGINT PRIMARY KEY,
    ticket TEXT NOT NULL,
    customer TEXT,
    text TEXT,
    answer TEXT,
    sources TEXT,
    reasons TEXT,
    stored_at_ms BIGINT NOT NULL,
    erased_at_ms BIGINT
);
CREATE INDEX decision_texts_customer ON decision_texts (customer);

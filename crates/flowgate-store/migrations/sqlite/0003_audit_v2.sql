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

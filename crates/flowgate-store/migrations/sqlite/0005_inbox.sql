-- Help-desk webhook deliveries. A delivery is committed here before its sender gets a 2xx,
-- then workers process it at least once (processing is idempotent: the same ticket content
-- is decided once, the same events are stored once). (source, delivery_id) is the sender's
-- identity of a delivery: the same id again is a retry (same bytes) or a conflict.
CREATE TABLE webhook_inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    body BLOB NOT NULL,
    received_at_ms INTEGER NOT NULL,
    -- pending | done | failed
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_until_ms INTEGER,
    done_at_ms INTEGER,
    outcome TEXT,
    UNIQUE (source, delivery_id)
);
CREATE INDEX webhook_inbox_state ON webhook_inbox (state, id);

-- Decisions going back to a help desk that asked for them (`[webhooks.NAME] callback_url`):
-- one row per (source, decision), written when the decision is made for one of the source's
-- deliveries, sent at least once (signed as a Standard Webhook, retried with backoff).
CREATE TABLE webhook_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    audit_seq INTEGER NOT NULL,
    -- pending | sent | failed
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    sent_at_ms INTEGER,
    last_error TEXT,
    UNIQUE (source, audit_seq)
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (state, next_attempt_ms);

-- The policy in force, shared by every replica: each policy file imported, named by its
-- content hash; the newest row is in force (kill switches apply on top). Each import is
-- also a policy_change record on the chain (audit_seq).
CREATE TABLE policies (
    version INTEGER PRIMARY KEY AUTOINCREMENT,
    hash TEXT NOT NULL,
    toml TEXT NOT NULL,
    origin TEXT NOT NULL,
    actor TEXT NOT NULL,
    imported_at_ms INTEGER NOT NULL,
    audit_seq INTEGER NOT NULL
);

-- The live service. API tokens: only a token's SHA-256 is stored, with its name and role;
-- revoking keeps the row (and the audit record says who did it).
CREATE TABLE api_tokens (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at_ms BIGINT NOT NULL,
    revoked_at_ms BIGINT
);

-- Idempotent ticket posts: the decision recorded for each (ticket, content). The same ticket
-- with the same content again returns that decision; new content is a new decision.
CREATE TABLE ticket_decisions (
    ticket TEXT NOT NULL,
    input_sha256 TEXT NOT NULL,
    audit_seq BIGINT NOT NULL,
    PRIMARY KEY (ticket, input_sha256)
);

-- Review leases: a reviewer holds an item for a while; nobody else may review it meanwhile.
ALTER TABLE review_queue ADD COLUMN leased_by TEXT;
ALTER TABLE review_queue ADD COLUMN lease_until_ms BIGINT;

-- Kill switches thrown while the service runs, on top of the policy file: '*' is the global
-- switch, any other scope an intent. Each change is also a policy_change record on the chain
-- (audit_seq); every server reads these before deciding, so a switch holds for the next ticket
-- on every replica.
CREATE TABLE kill_switches (
    scope TEXT PRIMARY KEY,
    engaged BOOLEAN NOT NULL,
    actor TEXT NOT NULL,
    changed_at_ms BIGINT NOT NULL,
    audit_seq BIGINT NOT NULL
);

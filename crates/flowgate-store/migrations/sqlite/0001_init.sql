-- flowgate schema 1: sources, imports, events (with a per-source string dictionary),
-- ticket texts, and the tables the risk layer writes (decisions, audit log, reviews).

CREATE TABLE sources (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    mapping TEXT NOT NULL,
    states_mapped INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL
);

CREATE TABLE imports (
    id INTEGER PRIMARY KEY,
    source_id INTEGER NOT NULL REFERENCES sources (id),
    started_at_ms INTEGER NOT NULL,
    finished_at_ms INTEGER NOT NULL,
    username TEXT NOT NULL,
    file TEXT NOT NULL,
    file_hash TEXT NOT NULL,
    rows_read INTEGER NOT NULL,
    events_new INTEGER NOT NULL,
    events_duplicate INTEGER NOT NULL,
    events_rejected INTEGER NOT NULL,
    cases_new INTEGER NOT NULL,
    span_from_ms INTEGER,
    span_to_ms INTEGER,
    status TEXT NOT NULL
);

-- Every string of a source (case ids, activities, resources, teams, attribute values).
CREATE TABLE strings (
    source_id INTEGER NOT NULL REFERENCES sources (id),
    id INTEGER NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (source_id, id)
) WITHOUT ROWID;

CREATE TABLE attr_names (
    source_id INTEGER NOT NULL REFERENCES sources (id),
    id INTEGER NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (source_id, id)
) WITHOUT ROWID;

-- One row per source event, in source order (id). event_key: 128-bit hash of the source,
-- case, time, activity, resource, team, state, flags, attributes and the occurrence number
-- of identical rows within one file; it makes imports idempotent.
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    source_id INTEGER NOT NULL REFERENCES sources (id),
    event_key BLOB NOT NULL,
    import_id INTEGER NOT NULL REFERENCES imports (id),
    case_s INTEGER NOT NULL,
    ts_ms INTEGER NOT NULL,
    activity_s INTEGER NOT NULL,
    resource_s INTEGER,
    team_s INTEGER,
    state INTEGER,
    flags INTEGER NOT NULL,
    -- little-endian u32 pairs: attribute name id, string id
    attrs BLOB
);
CREATE UNIQUE INDEX events_key ON events (source_id, event_key);

CREATE TABLE ticket_texts (
    source_id INTEGER NOT NULL REFERENCES sources (id),
    case_id TEXT NOT NULL,
    subject TEXT,
    body TEXT,
    label TEXT,
    created_at_ms INTEGER,
    PRIMARY KEY (source_id, case_id)
);

CREATE TABLE decisions (
    id INTEGER PRIMARY KEY,
    source_id INTEGER REFERENCES sources (id),
    case_id TEXT NOT NULL,
    decided_at_ms INTEGER NOT NULL,
    model_id TEXT,
    policy_hash TEXT,
    input_hash TEXT,
    decision TEXT NOT NULL,
    rule TEXT,
    reason TEXT,
    scores TEXT
);

CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    recorded_at_ms INTEGER NOT NULL,
    record TEXT NOT NULL,
    prev_sha256 TEXT NOT NULL,
    sha256 TEXT NOT NULL
);

CREATE TABLE reviews (
    id INTEGER PRIMARY KEY,
    decision_id INTEGER NOT NULL REFERENCES decisions (id),
    reviewer TEXT,
    reviewed_at_ms INTEGER,
    verdict TEXT,
    category TEXT,
    note TEXT
);

-- flowgate schema 1: sources, imports, events (keys, columnar blocks, a per-source string
-- dictionary), cases,
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

-- Every string of a source (case ids, activities, resources, teams, attribute values), in
-- blocks holding ids first_id .. first_id + n - 1 (layout: flowgate-store codec.rs).
CREATE TABLE string_blocks (
    source_id INTEGER NOT NULL REFERENCES sources (id),
    first_id INTEGER NOT NULL,
    n INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (source_id, first_id)
);

CREATE TABLE attr_names (
    source_id INTEGER NOT NULL REFERENCES sources (id),
    id INTEGER NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (source_id, id)
) WITHOUT ROWID;

-- The identity of every stored event: a 128-bit hash of the source, case, time, activity,
-- resource, team, state, flags, attributes and the occurrence number of identical rows
-- within one file. It makes imports idempotent.
-- (No foreign keys here: this is the hot table of an import; the store writes it only
-- together with its source and import rows, in one transaction.)
CREATE TABLE event_keys (
    source_id INTEGER NOT NULL,
    event_key BLOB NOT NULL,
    import_id INTEGER NOT NULL,
    PRIMARY KEY (source_id, event_key)
) WITHOUT ROWID;

-- The events themselves, columnar, in source order (import, then block).
CREATE TABLE event_blocks (
    source_id INTEGER NOT NULL REFERENCES sources (id),
    import_id INTEGER NOT NULL REFERENCES imports (id),
    block_no INTEGER NOT NULL,
    n_events INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (source_id, import_id, block_no)
);

-- Every case of a source, with the import that first brought it.
CREATE TABLE cases (
    source_id INTEGER NOT NULL REFERENCES sources (id),
    case_s INTEGER NOT NULL,
    import_id INTEGER NOT NULL REFERENCES imports (id),
    PRIMARY KEY (source_id, case_s)
) WITHOUT ROWID;

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

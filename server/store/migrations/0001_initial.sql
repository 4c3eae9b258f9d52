-- Groups, reps, calls and what the history queries read. Portable SQL for SQLite and
-- PostgreSQL; {blob} is BLOB or BYTEA. Times are Unix seconds. Never audio.

CREATE TABLE groups (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);

CREATE TABLE reps (
    id TEXT PRIMARY KEY,
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,  -- hex; the token itself is shown once, never kept
    created_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX reps_by_group ON reps (group_id);

CREATE TABLE calls (
    id TEXT PRIMARY KEY,  -- the session id
    node TEXT NOT NULL,
    title TEXT NOT NULL,
    language TEXT NOT NULL,
    playbook TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    ended_at DOUBLE PRECISION,
    duration_audio_s DOUBLE PRECISION NOT NULL,
    rep_id TEXT REFERENCES reps (id) ON DELETE SET NULL,
    group_id TEXT REFERENCES groups (id) ON DELETE SET NULL,
    scored_at DOUBLE PRECISION,
    erased_at DOUBLE PRECISION,
    erased_by TEXT,
    participants TEXT NOT NULL,  -- JSON: [{"role": ..., "name": ...}]
    -- Blobs last: SQLite reads a row's columns in order, and walks a long blob's overflow
    -- pages to reach any column after it.
    report {blob},  -- the whole report, as the core made it (transcript only where granted)
    customer_view {blob},
    observer_view {blob},
    scorecard {blob}
);
CREATE INDEX calls_by_rep ON calls (rep_id, created_at);
CREATE INDEX calls_by_group ON calls (group_id, created_at);
CREATE INDEX calls_by_age ON calls (created_at);

-- sha256 of each join token, so that a participant can erase or export after the call.
CREATE TABLE call_tokens (
    token_sha256 TEXT PRIMARY KEY,
    call_id TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    role TEXT NOT NULL
);
CREATE INDEX call_tokens_by_call ON call_tokens (call_id);

CREATE TABLE consent (
    call_id TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    participant TEXT NOT NULL,
    role TEXT NOT NULL,
    name TEXT NOT NULL,
    granted INTEGER NOT NULL,
    scopes TEXT NOT NULL,  -- space-separated
    on_behalf_of TEXT,
    given_by TEXT NOT NULL,
    audio_time_s DOUBLE PRECISION NOT NULL,
    wall_time DOUBLE PRECISION NOT NULL,
    erase INTEGER NOT NULL,
    PRIMARY KEY (call_id, seq)
);

CREATE TABLE measures (
    call_id TEXT PRIMARY KEY REFERENCES calls (id) ON DELETE CASCADE,
    talk_share_rep DOUBLE PRECISION NOT NULL,
    longest_monologue_s DOUBLE PRECISION NOT NULL,
    questions_open INTEGER NOT NULL,
    questions_closed INTEGER NOT NULL,
    interruptions INTEGER NOT NULL
);

CREATE TABLE nudge_counts (
    call_id TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    rule TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (call_id, rule)
);

CREATE TABLE verdicts (
    call_id TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    criterion TEXT NOT NULL,
    verdict TEXT NOT NULL,  -- good | needs_work | not_measured
    PRIMARY KEY (call_id, criterion)
);

CREATE TABLE evaluations (
    call_id TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    evaluator TEXT NOT NULL,  -- "self", or role:name: one evaluation per evaluator per call
    role TEXT NOT NULL,  -- rep (self-reflection) | observer (peer) | trainer
    name TEXT NOT NULL,
    skipped INTEGER NOT NULL,
    body {blob} NOT NULL,  -- the Evaluation as JSON: ticks and a line of feedback each
    submitted_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (call_id, evaluator)
);

-- The first released schema (user_version 1), frozen. Databases like this exist in the field:
-- every later migration must upgrade it, and migration 1 itself must never be edited.
CREATE TABLE sources (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    url TEXT NOT NULL,
    topic TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    every INTEGER NOT NULL DEFAULT 1800,
    spec TEXT NOT NULL DEFAULT '{}',
    origin TEXT NOT NULL DEFAULT 'config',
    paused INTEGER NOT NULL DEFAULT 0,
    retired INTEGER NOT NULL DEFAULT 0,
    added_at TEXT NOT NULL,
    last_checked TEXT,
    last_status TEXT NOT NULL DEFAULT 'never',
    last_error TEXT,
    warning TEXT,
    failures INTEGER NOT NULL DEFAULT 0,
    failing_since TEXT,
    etag TEXT,
    last_modified TEXT,
    last_hash TEXT,
    last_change_at TEXT
);
CREATE TABLE snapshots (
    hash TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    size INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE changes (
    id INTEGER PRIMARY KEY,
    source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    detected_at TEXT NOT NULL,
    kind TEXT NOT NULL,
    entry_key TEXT,
    old_hash TEXT REFERENCES snapshots(hash),
    new_hash TEXT REFERENCES snapshots(hash),
    added INTEGER NOT NULL DEFAULT 0,
    removed INTEGER NOT NULL DEFAULT 0,
    summary TEXT NOT NULL,
    diff TEXT NOT NULL
);
CREATE INDEX changes_source_time ON changes(source_id, detected_at);
CREATE INDEX changes_time ON changes(detected_at);
CREATE TABLE polls (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    origin TEXT NOT NULL,
    checked INTEGER NOT NULL,
    changed INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    not_modified INTEGER NOT NULL
);

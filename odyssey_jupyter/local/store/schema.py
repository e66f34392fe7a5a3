"""The engine's tables: jobs, their scripts and streams, and the submissions' idempotency keys."""

from __future__ import annotations

from odyssey_jupyter.protocol.types import ACTIVE_STATUSES

ACTIVE_SQL = "(" + ",".join(f"'{status}'" for status in sorted(ACTIVE_STATUSES)) + ")"
"""``types.ACTIVE_STATUSES`` as an SQL list, so every query asks for the same set."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT UNIQUE NOT NULL,
    owner TEXT NOT NULL,
    status TEXT NOT NULL,
    priority TEXT NOT NULL DEFAULT 'normal',
    created_at TEXT NOT NULL,
    dispatched_at TEXT,
    started_at TEXT,
    completed_at TEXT,
    error_message TEXT,
    retry_count INTEGER NOT NULL DEFAULT 0,
    portrait INTEGER NOT NULL,
    bypass_vlm_expansion INTEGER
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status);
CREATE TABLE IF NOT EXISTS scripts (
    job_id TEXT NOT NULL,
    script_index INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (job_id, script_index)
);
CREATE TABLE IF NOT EXISTS streams (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    stream_id TEXT UNIQUE NOT NULL,
    job_id TEXT NOT NULL,
    script_index INTEGER NOT NULL,
    plan_index INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    error_message TEXT,
    frame_count INTEGER,
    duration_seconds REAL,
    started_at TEXT,
    ended_at TEXT,
    render_seconds REAL
);
CREATE INDEX IF NOT EXISTS streams_job ON streams(job_id);
CREATE TABLE IF NOT EXISTS idempotency_keys (
    owner TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    job_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (owner, key)
);
"""

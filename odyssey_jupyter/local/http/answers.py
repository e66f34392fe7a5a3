"""The JSON shapes of the engine's answers (docs/openapi.yaml), built from the store's rows.

Artifact URLs are signed here, so a stream's files can be fetched without a bearer
header, like the hosted service's presigned URLs.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from odyssey_jupyter.local.http.state import EngineState
from odyssey_jupyter.local.store.database import Row
from odyssey_jupyter.protocol.artifacts import ARTIFACT_KINDS, ARTIFACTS

REGION = "local"


def artifact_urls(state: EngineState, request: Request, row: Row) -> dict[str, str | None]:
    base = str(request.base_url).rstrip("/")
    urls: dict[str, str | None] = {}
    for artifact in ARTIFACTS:
        rel = f"{row['job_id']}/{row['stream_id']}/{artifact.filename}"
        urls[f"{artifact.kind}_url"] = f"{base}/artifacts/{rel}?{state.urls.query(rel)}"
    return urls


def no_urls() -> dict[str, str | None]:
    return {f"{kind}_url": None for kind in ARTIFACT_KINDS}


def stream_json(state: EngineState, request: Request, row: Row, job_status: str) -> dict[str, Any]:
    ready = row["status"] == "completed" and job_status != "cancelled"
    return {
        "stream_id": row["stream_id"],
        "script_index": row["script_index"],
        **(artifact_urls(state, request, row) if ready else no_urls()),
        "frame_count": row["frame_count"] if ready else None,
        "duration_seconds": row["duration_seconds"] if ready else None,
        "status": row["status"],
        "error_message": row["error_message"],
    }


def job_json(state: EngineState, request: Request, job: Row) -> dict[str, Any]:
    streams = state.store.streams_of(job["job_id"])
    return {
        "job_id": job["job_id"],
        "status": job["status"],
        "priority": job["priority"],
        "created_at": job["created_at"],
        "dispatched_at": job["dispatched_at"],
        "started_at": job["started_at"],
        "completed_at": job["completed_at"],
        "error_message": job["error_message"],
        "assigned_region": REGION if job["dispatched_at"] or job["status"] != "pending" else None,
        "retry_count": job["retry_count"],
        "estimated_wait_minutes": state.dispatcher.estimated_wait_minutes(job),
        "streams": [
            stream_json(state, request, s, job["status"])
            for s in streams
            if s["status"] != "pending"
        ],
        "progress": state.dispatcher.job_progress(job, streams),
    }


def job_info_json(job: Row) -> dict[str, Any]:
    return {
        "job_id": job["job_id"],
        "status": job["status"],
        "priority": job["priority"],
        "created_at": job["created_at"],
        "completed_at": job["completed_at"],
        "error_message": job["error_message"],
    }

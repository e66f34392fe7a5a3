"""A local log of the jobs submitted from this machine.

The API's job list carries no prompts, so the job browser would show bare ids.
Every submission appends one JSON line (id, time, portrait, first prompt, stream
count, expected length, API host; never the key) to ``history.jsonl`` in the user cache directory,
created ``0600`` (its folder ``0700`` when this module creates it).
Reads are cached by the file's mtime and size, so a page of 20 rows costs one
dict lookup each even with 10,000 entries.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from odyssey_jupyter.files.finite_json import loads_neutral
from odyssey_jupyter.files.private import create_private_file, make_private_dir
from odyssey_jupyter.files.user_dirs import user_cache_dir

log = logging.getLogger(__name__)

MAX_PROMPT_CHARS = 500


def history_path() -> Path:
    """``$ODYSSEY_HISTORY_PATH``, else ``history.jsonl`` in the user cache folder."""
    override = os.environ.get("ODYSSEY_HISTORY_PATH")
    if override:
        return Path(override).expanduser()
    return user_cache_dir() / "history.jsonl"


def _first_prompt(scripts: Sequence[Sequence[dict[str, Any]]]) -> str | None:
    for script in scripts:
        for entry in script:
            start = entry.get("start")
            if isinstance(start, dict) and isinstance(start.get("prompt"), str):
                return str(start["prompt"])[:MAX_PROMPT_CHARS]
    return None


def _stream_count(scripts: Sequence[Sequence[dict[str, Any]]]) -> int:
    return sum(1 for script in scripts for entry in script if "start" in entry)


def _length_seconds(scripts: Sequence[Sequence[dict[str, Any]]]) -> float | None:
    """Seconds of video the job should make: every stream of every script, end to end."""
    from odyssey_jupyter.script.rules import plan_streams

    try:
        plans = [
            plan for i, s in enumerate(scripts) for plan in plan_streams(list(s), script_index=i)
        ]
    except Exception:  # a script the validator never saw: the length is unknown, not an error
        return None
    return sum(plan.duration_ms for plan in plans) / 1000.0 if plans else None


def _host(api_url: str | None) -> str | None:
    if not api_url:
        return None
    parts = urlsplit(api_url)
    # netloc may carry user:password@; keep only host[:port]
    return parts.netloc.rsplit("@", 1)[-1] or None


class _Cache:
    """Parsed history keyed by job id, valid while the file's (mtime, size) stay put."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.path: Path | None = None
        self.stamp: tuple[int, int] | None = None
        self.entries: dict[str, dict[str, Any]] = {}


_cache = _Cache()


def record(
    job_id: str,
    *,
    scripts: Sequence[Sequence[dict[str, Any]]] | None,
    portrait: bool,
    api_url: str | None,
    created: float | None = None,
    path: Path | None = None,
) -> None:
    """Append one submission. Failures are logged, never raised: history is a convenience."""
    entry: dict[str, Any] = {
        "job_id": job_id,
        "created": created if created is not None else time.time(),
        "portrait": bool(portrait),
        "prompt": _first_prompt(scripts) if scripts else None,
        "streams": _stream_count(scripts) if scripts else None,
        "length": _length_seconds(scripts) if scripts else None,
        "host": _host(api_url),
    }
    target = path or history_path()
    line = json.dumps(entry, ensure_ascii=False) + "\n"
    try:
        make_private_dir(target.parent)
        # one write() of a short line in append mode: concurrent kernels do not interleave.
        # A lone surrogate (the Python API takes any str) can only sit in a JSON string,
        # where "backslashreplace" writes it as the JSON escape that reads back the same.
        fd = create_private_file(target, append=True)
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as out:
            out.write(line)
    except OSError as exc:
        log.warning("could not write the submission history at %s: %s", target, exc)


def _entry(line: str) -> dict[str, Any] | None:
    """One line as an entry, or None; a damaged ``created`` becomes None (never NaN)."""
    try:
        item = loads_neutral(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(item, dict) or not isinstance(item.get("job_id"), str):
        return None
    created = item.get("created")
    if isinstance(created, bool) or not isinstance(created, int | float):
        item["created"] = None
    return item


def _load(path: Path) -> dict[str, dict[str, Any]]:
    try:
        stat = path.stat()
    except OSError:
        return {}
    stamp = (stat.st_mtime_ns, stat.st_size)
    with _cache.lock:
        if _cache.path == path and _cache.stamp == stamp:
            return _cache.entries
        entries: dict[str, dict[str, Any]] = {}
        try:
            # errors="replace": a byte that is not UTF-8 spoils its own line, not the file
            with open(path, encoding="utf-8", errors="replace") as handle:
                for line in handle:
                    item = _entry(line)
                    if item is not None:
                        entries[item["job_id"]] = item
        except OSError as exc:
            log.warning("could not read the submission history at %s: %s", path, exc)
            return {}
        _cache.path, _cache.stamp, _cache.entries = path, stamp, entries
        return entries


def lookup(job_ids: Iterable[str], *, path: Path | None = None) -> dict[str, dict[str, Any]]:
    """The history entries of the given jobs that were submitted here (others are absent).

    Each entry: ``job_id``, ``created`` (epoch seconds), ``portrait``, ``prompt``
    (first start prompt or None), ``streams``, ``length`` (seconds of video expected,
    or None), ``host``.
    """
    entries = _load(path or history_path())
    return {job_id: dict(entries[job_id]) for job_id in job_ids if job_id in entries}


def first_prompt(job_id: str, *, path: Path | None = None) -> str | None:
    """The first start prompt of a job submitted from this machine, if known."""
    entry = _load(path or history_path()).get(job_id)
    prompt = entry.get("prompt") if entry else None
    return prompt if isinstance(prompt, str) else None


def entries(*, path: Path | None = None) -> list[dict[str, Any]]:
    """Every recorded submission, newest first."""
    items = list(_load(path or history_path()).values())
    items.sort(key=lambda item: item["created"] or 0, reverse=True)
    return [dict(item) for item in items]

"""Turning a ``POST /simulation-jobs`` body into validated scripts, or a 422 reason.

The rules are the client's own (``odyssey_jupyter.script.rules``) with images required
to be data URLs; a ``script_url`` is fetched here under a size and time cap.
Validating and planning a large body (up to 64 MB, 100 scripts of 1,000 entries)
takes a second of CPU, so it runs in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool

from odyssey_jupyter.errors import ScriptError
from odyssey_jupyter.script.rules import (
    MAX_IMAGE_BYTES,
    is_batch,
    plan_streams,
    validate_script,
    validate_scripts,
)

SCRIPT_URL_MAX_BYTES = 5 * 1024 * 1024
SCRIPT_URL_TIMEOUT = 10.0


def decoded_size(data_url: str) -> int:
    """Bytes the base64 payload of a data URL decodes to (without decoding it)."""
    payload = data_url.partition(",")[2]
    return len(payload) * 3 // 4 - payload[-2:].count("=")


class SubmitError(ValueError):
    """The submission is malformed; the message is the 422 ``detail``."""


@dataclass(frozen=True, slots=True)
class Submission:
    scripts: list[list[dict[str, Any]]]
    portrait: bool
    bypass_vlm_expansion: bool | None
    streams: list[tuple[int, int, int]]
    """(script_index, plan_index, duration_ms) of every stream the scripts make."""


def _optional_bool(body: dict[str, Any], name: str, default: bool | None) -> bool | None:
    value = body.get(name, default)
    if value is None or isinstance(value, bool):
        return value
    raise SubmitError(f"'{name}' must be true or false, not {value!r}")


def _check_images(scripts: list[list[dict[str, Any]]], batch: bool) -> None:
    for script_index, script in enumerate(scripts):
        for entry_index, entry in enumerate(script):
            image = entry.get("start", {}).get("image")
            if isinstance(image, str) and decoded_size(image) > MAX_IMAGE_BYTES:
                where = f"script {script_index}, " if batch else ""
                raise SubmitError(
                    f"{where}entry {entry_index}, field 'start.image': the image is larger than "
                    f"{MAX_IMAGE_BYTES // (1024 * 1024)} MB"
                )


async def fetch_script_url(url: str) -> Any:
    """The JSON behind ``script_url`` (http/https only, at most 5 MB, within 10 s)."""
    import httpx

    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise SubmitError(f"'script_url' must be an http(s) URL, not {scheme or 'a relative'}: URL")
    limit = SCRIPT_URL_MAX_BYTES

    async def download() -> bytes:
        timeout = httpx.Timeout(SCRIPT_URL_TIMEOUT)
        async with (
            httpx.AsyncClient(timeout=timeout, follow_redirects=True) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code != 200:
                raise SubmitError(f"'script_url' answered HTTP {response.status_code}")
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise SubmitError(f"'script_url' is larger than {limit // (1024 * 1024)} MB")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    raise SubmitError(f"'script_url' is larger than {limit // (1024 * 1024)} MB")
                chunks.append(chunk)
            return b"".join(chunks)

    try:
        raw = await asyncio.wait_for(download(), timeout=SCRIPT_URL_TIMEOUT)
    except asyncio.TimeoutError:
        raise SubmitError(f"'script_url' did not answer within {SCRIPT_URL_TIMEOUT:g} s") from None
    except httpx.HTTPError as exc:
        raise SubmitError(f"'script_url' could not be fetched: {type(exc).__name__}") from None
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SubmitError(f"'script_url' does not hold JSON: {exc}") from None
    except RecursionError:
        raise SubmitError("the JSON at 'script_url' is nested too deeply") from None
    except ValueError:  # an integer longer than Python parses (4300 digits by default)
        raise SubmitError(
            "the JSON at 'script_url' holds an integer with too many digits"
        ) from None


async def parse_submission(body: Any) -> Submission:
    if not isinstance(body, dict):
        raise SubmitError("the body must be a JSON object")
    given = [k for k in ("script", "scripts", "script_url") if body.get(k) is not None]
    if len(given) != 1:
        found = ", ".join(given) if given else "none"
        raise SubmitError(
            f"give exactly one of 'script', 'scripts' or 'script_url' (found {found})"
        )
    portrait = _optional_bool(body, "portrait", True)
    if portrait is None:  # null means "not given": the protocol's default
        portrait = True
    _optional_bool(body, "output_video", True)
    bypass = _optional_bool(body, "bypass_vlm_expansion", None)
    kind = given[0]
    value = body[kind]
    if kind == "script_url":
        if not isinstance(value, str):
            raise SubmitError("'script_url' must be a string")
        value = await fetch_script_url(value)
        if isinstance(value, dict):
            inner = [k for k in ("script", "scripts") if value.get(k) is not None]
            if len(inner) != 1:
                raise SubmitError("the JSON at 'script_url' must be a script or a list of scripts")
            kind, value = inner[0], value[inner[0]]
        else:
            kind = "scripts" if is_batch(value) else "script"
    fetched = body.get("script_url") is not None
    return await run_in_threadpool(_validated, kind, value, fetched, bool(portrait), bypass)


def _validated(
    kind: str, value: Any, fetched: bool, portrait: bool, bypass: bool | None
) -> Submission:
    """The CPU-heavy part of a submission: validate every entry, check images, plan streams."""
    try:
        if kind == "scripts":
            scripts = validate_scripts(value, require_data_url=True)
        else:
            scripts = [validate_script(value, require_data_url=True)]
    except ScriptError as exc:
        prefix = "script_url: " if fetched else ""
        raise SubmitError(
            prefix + str(exc).replace("\n  Fix: ", " (fix: ") + (")" if exc.hint else "")
        ) from None
    _check_images(scripts, kind == "scripts")
    streams = [
        (plan.script_index, plan_index, plan.duration_ms)
        for script_index, script in enumerate(scripts)
        for plan_index, plan in enumerate(plan_streams(script, script_index=script_index))
    ]
    return Submission(
        scripts=scripts, portrait=portrait, bypass_vlm_expansion=bypass, streams=streams
    )

"""The body of ``POST /simulation-jobs``, built and checked before anything is sent.

Scripts go through the same rules as on the engine (:mod:`odyssey_jupyter.script.rules`);
then each start image (path, bytes, PIL image, array or data URL) becomes a data
URL fitted to the job's frame (:mod:`odyssey_jupyter.script.images`). Image work runs in
a worker thread so a large photo does not block the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from odyssey_jupyter.errors import ScriptError
from odyssey_jupyter.script import images
from odyssey_jupyter.script.rules import Script, is_batch, validate_script, validate_scripts


def with_data_urls(script: Script, *, portrait: bool, script_index: int | None) -> Script:
    """A copy of a validated script whose start images are data URLs (order kept)."""
    out: Script = []
    for number, entry in enumerate(script):
        start = entry.get("start")
        if isinstance(start, dict) and "image" in start:
            data_url = images.to_data_url(
                start["image"], portrait=portrait, entry=number, script_index=script_index
            )
            entry = {**entry, "start": {**start, "image": data_url}}
        out.append(entry)
    return out


def _has_images(scripts: Iterable[Script]) -> bool:
    return any(
        isinstance(e.get("start"), dict) and "image" in e["start"] for s in scripts for e in s
    )


def validated_source(script: Any, scripts: Any, script_url: Any) -> list[Script] | None:
    """The validated scripts of a submission (None for a ``script_url``); raises ScriptError.

    One home for what ``simulate()`` in a notebook and ``Odyssey.simulate`` both
    check before anything is sent: exactly one source, an http(s) script URL, a
    batch passed as ``scripts=``, and every script's rules.
    """
    given = [
        name
        for name, value in (("script", script), ("scripts", scripts), ("script_url", script_url))
        if value is not None
    ]
    if len(given) != 1:
        found = ", ".join(given) if given else "none"
        raise ScriptError(
            f"give exactly one of script=, scripts= or script_url= (got {found})",
            hint="script= for one script, scripts= for a batch, script_url= for a JSON file",
        )
    if script_url is not None:
        if not isinstance(script_url, str) or not script_url.startswith(("http://", "https://")):
            raise ScriptError(
                f"script_url must be an http(s) URL, not {script_url!r}",
                hint="point it at a JSON file holding the script",
            )
        return None
    if scripts is not None:
        return validate_scripts(scripts)
    if is_batch(script):
        raise ScriptError(
            "script= got a list of scripts",
            hint="pass a batch as scripts=[script_a, script_b]",
        )
    return [validate_script(script)]


async def build_body(
    script: Any = None,
    scripts: Any = None,
    script_url: Any = None,
    *,
    portrait: bool = True,
    bypass_prompt_expansion: bool | None = None,
) -> dict[str, Any]:
    """The JSON body of a submission; raises ScriptError/ImageError for anything malformed."""
    checked = validated_source(script, scripts, script_url)
    body: dict[str, Any] = {"portrait": bool(portrait), "output_video": True}
    if checked is None:
        body["script_url"] = script_url
    else:
        clean = checked
        batch = scripts is not None
        if _has_images(clean):

            def convert() -> list[Script]:
                return [
                    with_data_urls(s, portrait=portrait, script_index=i if batch else None)
                    for i, s in enumerate(clean)
                ]

            clean = await asyncio.to_thread(convert)
        if batch:
            body["scripts"] = clean
        else:
            body["script"] = clean[0]
    if bypass_prompt_expansion is not None:
        body["bypass_vlm_expansion"] = bool(bypass_prompt_expansion)
    return body

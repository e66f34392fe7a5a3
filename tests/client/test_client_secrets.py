"""Neither the API key nor the bearer token ever shows up in output, logs, reprs or errors."""

from __future__ import annotations

import asyncio
import logging
import traceback
from pathlib import Path

import httpx
import pytest
from support.engines import RunningEngine
from support.faultproxy import FaultProxy

from odyssey_jupyter.client import Odyssey
from odyssey_jupyter.client.http_errors import error_from_response, transport_error
from odyssey_jupyter.errors import OdysseyError

SCRIPT = [
    {"timestamp_ms": 0, "start": {"prompt": "A secret garden"}},
    {"timestamp_ms": 500, "end": {}},
]


def describe(error: BaseException) -> str:
    """Everything a user could see of an exception: str, repr, attributes, full traceback."""
    parts = [str(error), repr(error), *traceback.format_exception(error)]
    parts += [repr(v) for v in vars(error).values()]
    return "\n".join(parts)


def test_nothing_printed_logged_or_raised_holds_a_secret(
    engine: RunningEngine,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)  # httpx and httpcore included
    seen: list[str] = []
    tokens: list[str] = []

    async def main() -> None:
        with FaultProxy(engine.url, seed=5, stall_seconds=3.0, retry_after="0.05") as proxy:
            client = Odyssey(
                engine.api_key,
                proxy.url,
                timeout=0.5,
                max_retries=2,
                retry_backoff=0.02,
                retry_backoff_max=0.05,
            )
            seen.append(repr(client))
            job = await client.simulate(SCRIPT)
            done = await client.wait(job.job_id, timeout=60, poll_interval=0.05)
            seen.append(repr(done))
            await client.download(done.streams[0].stream_id, tmp_path)
            assert client._tokens._token is not None
            tokens.append(client._tokens._token)
            seen.append(repr(client._tokens))

            failures = [
                client.get_simulate_status("missing-job"),
                client.cancel_simulation(job.job_id),
                client.simulate(SCRIPT, bypass_prompt_expansion=True),
            ]
            for rule in ("503", "reset", "stall", "500_after", "429"):
                proxy.clear_rules()
                proxy.add_rule(rates={rule: 1.0})
                try:
                    await client.get_simulate_status(job.job_id) if rule != "500_after" else (
                        await client.simulate(SCRIPT)
                    )
                except OdysseyError as error:
                    seen.append(describe(error))
            proxy.clear_rules()
            for call in failures:
                try:
                    await call
                except OdysseyError as error:
                    seen.append(describe(error))
            await client.aclose()

        wrong = Odyssey(engine.api_key + "x", engine.url, max_retries=0)
        try:
            await wrong.list_simulations()
        except OdysseyError as error:
            seen.append(describe(error))
        await wrong.aclose()

    asyncio.run(main())
    out, err = capsys.readouterr()
    haystack = "\n".join([*seen, out, err, caplog.text, *(r.getMessage() for r in caplog.records)])
    assert tokens and len(seen) > 8
    assert engine.api_key not in haystack
    assert tokens[0] not in haystack
    assert "Bearer" not in haystack


def test_an_echoed_secret_is_scrubbed_from_error_messages() -> None:
    key, token = "ody_echo_key_123456", "tok_echo_abcdef"
    request = httpx.Request("GET", "http://example.test/simulation-jobs/x")
    response = httpx.Response(
        400,
        json={"detail": f"bad header Bearer {token} for key {key}"},
        request=request,
    )
    error = error_from_response(response, method="GET", path="/x", secrets=[key, token])
    assert key not in describe(error) and token not in describe(error)
    assert "***" in str(error)
    usage = httpx.Response(
        429,
        json={
            "error": "MONTHLY_LIMIT_REACHED",
            "message": f"key {key} is out of hours",
            "action": "upgrade",
        },
        request=request,
    )
    assert key not in describe(error_from_response(usage, method="GET", path="/x", secrets=[key]))
    failure = transport_error(
        httpx.ConnectError(f"refused while sending {token}"),
        method="GET",
        path="/x",
        url="http://example.test",
        secrets=[key, token],
    )
    assert token not in describe(failure)

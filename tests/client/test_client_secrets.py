"""Neither the API key nor the bearer token ever shows up in output, logs, reprs or errors."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import traceback
from pathlib import Path

import httpx
import pytest
from support.engines import RunningEngine
from support.faultproxy import FaultProxy
from support.hostile import ECHOED_KEY, script_secret_echo, secret_leaks
from support.scripted_server import ScriptedServer

from odyssey_jupyter.client.http_errors import error_from_response, transport_error
from odyssey_jupyter.client.odyssey import Odyssey
from odyssey_jupyter.errors import ConfigurationError, JobFailedError, OdysseyError

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


def test_every_text_of_every_answer_is_scrubbed_before_it_is_kept(api: ScriptedServer) -> None:
    """A server echoing the key and the token in every text field: nothing the client
    returns or raises holds either, from a 200 job detail to a 429's details."""
    script_secret_echo(api)
    kept: list[str] = []

    async def main() -> None:
        client = Odyssey(ECHOED_KEY, api.url, max_retries=0)
        submitted = await client.simulate(SCRIPT)
        kept.append(repr(submitted))
        with pytest.raises(JobFailedError) as failed:
            await client.wait(submitted.job_id, raise_on_failure=True, poll_interval=0.05)
        kept.append(describe(failed.value))
        kept.append(repr(failed.value.detail))
        kept.append(repr(await client.list_simulations()))
        kept.append(repr(await client.get_recording("echo-1-s0")))
        kept.append(repr(await client.list_stream_recordings()))
        for refused in (
            client.get_simulate_status("gone"),
            client.cancel_simulation("echo-1"),
            client.get_recording("limited"),
        ):
            with pytest.raises(OdysseyError) as caught:
                await refused
            kept.append(describe(caught.value))
        await client.aclose()

    asyncio.run(main())
    text = "\n".join(kept)
    assert "the job failed" in text and "the stream could not be rendered" in text
    assert "out of hours" in text and "bad field" in text and "no job" in text
    assert secret_leaks(text) == [], text


def test_secrets_a_server_echoes_reach_neither_the_cli_nor_the_ledger(
    api: ScriptedServer, tmp_path: Path
) -> None:
    script_secret_echo(api)
    spec = {"template": "0s start a {thing} at dusk\n1s end", "params": {"thing": ["cat", "owl"]}}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    env = dict(os.environ, ODYSSEY_API_URL=api.url, ODYSSEY_API_KEY=ECHOED_KEY)
    env["ODYSSEY_HISTORY_PATH"] = str(tmp_path / "history.jsonl")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "odyssey_jupyter", "sweep", *args]
        return subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
        )

    ran = cli("run", "spec.json", "--name", "echoed")
    status = cli("status", "echoed")
    assert ran.returncode == 1 and status.returncode == 1, ran.stderr
    shown = ran.stdout + ran.stderr + status.stdout + status.stderr
    assert "item 1 failed: the job failed" in shown
    assert secret_leaks(shown) == [], shown
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert any(path.suffix == ".sqlite" for path in written), written
    for path in written:
        assert secret_leaks(path.read_bytes().decode("latin-1")) == [], path


PASTED_KEY = "ody_pasted_where_a_url_goes_0123456789"


@pytest.mark.parametrize(
    ("variable", "value", "hidden"),
    [
        ("ODYSSEY_API_URL", PASTED_KEY, [PASTED_KEY]),
        ("ODYSSEY_API_URL", "https://me:hunter2secret@127.0.0.1:9/v1?token=q7Zsecret", []),
        ("HTTPS_PROXY", "ftp://proxyuser:proxypass9@127.0.0.1:9", []),
        ("HTTPS_PROXY", "socks5://proxyuser:proxypass9@127.0.0.1:9", []),
    ],
)
def test_an_error_about_a_url_shows_it_without_credentials(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, hidden: list[str]
) -> None:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ODYSSEY_API_KEY", "configured-key-not-shaped-like-one")
    monkeypatch.setenv("ODYSSEY_API_URL", "http://127.0.0.1:9")
    monkeypatch.setenv(variable, value)
    shown: list[str] = []

    async def main() -> None:
        client = Odyssey(max_retries=0, timeout=2)
        shown.append(repr(client))
        await client.list_simulations()

    with pytest.raises(OdysseyError) as caught:
        asyncio.run(main())
    text = "\n".join([*shown, describe(caught.value)])
    for secret in [*hidden, "hunter2secret", "q7Zsecret", "proxyuser", "proxypass9"]:
        assert secret not in text, text
    assert "***" in text


def test_a_url_holding_the_configured_key_is_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    key = "plain-key-without-a-prefix"
    monkeypatch.setenv("ODYSSEY_API_KEY", key)
    for url in (key, f"api.example.test/{key}"):
        monkeypatch.setenv("ODYSSEY_API_URL", url)
        with pytest.raises(ConfigurationError) as caught:
            Odyssey()
        assert key not in describe(caught.value) and "not an http(s) URL" in str(caught.value)
    monkeypatch.delenv("ODYSSEY_API_KEY")
    monkeypatch.setenv("ODYSSEY_API_URL", "https://me:hunter2secret@api.example.test")
    with pytest.raises(ConfigurationError, match="no API key") as caught:
        Odyssey()
    assert "hunter2secret" not in describe(caught.value)

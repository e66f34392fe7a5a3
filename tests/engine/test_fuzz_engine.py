"""The local engine, fuzzed with schemathesis against docs/openapi.yaml.

Every operation gets a few dozen generated requests, valid and invalid by the
schema. The engine must never answer 5xx, never die, answer every 4xx with a
JSON ``detail`` (usage errors: ``message`` + ``action``), and its successful
answers must match the documented shapes. Jobs the fuzzer manages to create are
cancelled at once, so a generated five-minute script does not keep a core busy.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
EXAMPLES = 25
"""Per operation and generation mode: ~7 operations x 2 modes x 25 stays well under a minute."""

CONTENT_TYPES = ["application/json", "text/plain", "application/x-www-form-urlencoded"]

pytestmark = pytest.mark.slow


def _token(url: str, key: str) -> str:
    """A token (the right key is never held up by the wrong ones the fuzzer sends)."""
    answer = httpx.post(f"{url}/auth/token", json={"api_key": key}, timeout=10)
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def _has_detail(response: Any) -> tuple[bool, str]:
    """Whether a 4xx body is JSON with a usable explanation."""
    try:
        body = json.loads(response.content or b"")
    except ValueError:
        return False, "the body is not JSON"
    if not isinstance(body, dict):
        return False, f"the body is a JSON {type(body).__name__}, not an object"
    if response.status_code == 429 and {"message", "action"} <= body.keys():
        return True, ""
    detail = body.get("detail")
    if detail in (None, "", [], {}):
        return False, "the body has no 'detail'"
    return True, ""


def _describe(case: Any, response: Any) -> str:
    body = case.body if type(case.body).__name__ != "NotSet" else None
    text = response.content[:300].decode("utf-8", "replace")
    return (
        f"{case.method} {case.formatted_path} query={case.query} body={json.dumps(body)[:300]}"
        f" -> {response.status_code} {text}"
    )


@pytest.fixture(scope="module")
def fuzz_engine(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from support.engines import launch_engine

    running = launch_engine(tmp_path_factory.mktemp("fuzz-engine"), "--workers", "1")
    yield running
    running.close()


def _operations() -> list[Any]:
    schema = schemathesis.openapi.from_path(OPENAPI)
    return [result.ok() for result in schema.get_all_operations()]


OPERATIONS = _operations()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: f"{op.method.upper()} {op.path}")
def test_the_engine_survives_generated_requests(
    fuzz_engine: Any, operation: Any, mode: GenerationMode
) -> None:
    url = fuzz_engine.url
    headers = {"Authorization": f"Bearer {_token(url, fuzz_engine.api_key)}"}
    problems: list[str] = []
    created: list[str] = []
    session = httpx.Client(timeout=30)

    def cancel(job_id: str) -> None:
        session.delete(f"{url}/simulation-jobs/{job_id}", headers=headers)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def probe(case: Any) -> None:
        try:
            response = case.call(base_url=url, headers=headers, timeout=30)
        except Exception as exc:  # a dead or hung engine
            problems.append(f"no answer: {type(exc).__name__}: {exc}")
            return
        status = response.status_code
        if operation.method == "post" and operation.path == "/simulation-jobs" and status < 300:
            try:
                job_id = json.loads(response.content)["job_id"]
            except (ValueError, KeyError, TypeError):
                problems.append("a created job without a job_id: " + _describe(case, response))
            else:
                created.append(job_id)
                cancel(job_id)
        if status >= 500:
            problems.append("server error: " + _describe(case, response))
        elif 400 <= status < 500:
            ok, why = _has_detail(response)
            if not ok:
                problems.append(f"4xx without a JSON detail ({why}): " + _describe(case, response))
        if status < 500:
            try:
                case.validate_response(
                    response,
                    checks=[
                        status_code_conformance,
                        content_type_conformance,
                        response_schema_conformance,
                    ],
                    headers=headers,
                )
            except Exception as exc:
                message = str(exc).strip().splitlines()
                problems.append(
                    f"undocumented answer ({' / '.join(message[:3])}): " + _describe(case, response)
                )

    try:
        probe()
    finally:
        session.close()
    assert fuzz_engine.process.poll() is None, "the engine died during fuzzing"
    assert httpx.get(f"{url}/simulation-jobs", headers=headers, timeout=10).status_code == 200
    unique = list(dict.fromkeys(problems))
    assert not unique, f"{len(unique)} problem(s):\n" + "\n".join(unique[:10])


def test_the_engine_refuses_garbage_bodies_and_methods_cleanly(fuzz_engine: Any) -> None:
    """Bytes that are not JSON, wrong content types and wrong methods: 4xx with a detail."""
    url = fuzz_engine.url
    headers = {"Authorization": f"Bearer {_token(url, fuzz_engine.api_key)}"}
    problems: list[str] = []

    @settings(max_examples=60, deadline=None, database=None, derandomize=True)
    @given(
        path=st.sampled_from(
            ["/simulation-jobs", "/simulation-jobs/x", "/recordings/x", "/stream-recordings"]
        ),
        method=st.sampled_from(["GET", "POST", "DELETE", "PUT", "PATCH"]),
        body=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode)),
        content_type=st.sampled_from(CONTENT_TYPES),
    )
    def check(path: str, method: str, body: bytes, content_type: str) -> None:
        answer = httpx.request(
            method,
            url + path,
            content=body,
            headers={**headers, "Content-Type": content_type},
            timeout=30,
        )
        if answer.status_code < 300 and method == "POST":
            job_id = answer.json().get("job_id")
            if job_id:
                httpx.delete(f"{url}/simulation-jobs/{job_id}", headers=headers, timeout=30)
        if answer.status_code >= 500:
            problems.append(f"{method} {path} {body[:60]!r} -> {answer.status_code}")
        elif answer.status_code >= 400:
            ok, why = _has_detail(answer)
            if not ok:
                problems.append(f"{method} {path} -> {answer.status_code} {why}")

    check()
    assert fuzz_engine.process.poll() is None, "the engine died"
    unique = list(dict.fromkeys(problems))
    assert not unique, "\n".join(unique[:10])


def test_the_engine_refuses_bad_credentials_with_a_detail(fuzz_engine: Any) -> None:
    url = fuzz_engine.url
    for headers in (
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer " + "x" * 5000},
    ):
        answer = httpx.get(f"{url}/simulation-jobs", headers=headers, timeout=10)
        assert answer.status_code == 401, (headers, answer.status_code)
        assert _has_detail(answer)[0]
    bodies: list[object] = [{"api_key": "ody_wrong"}, {"api_key": ""}, {"api_key": 5}, {}, []]
    for body in bodies:
        answer = httpx.post(f"{url}/auth/token", json=body, timeout=10)
        assert answer.status_code in (401, 403, 422), (body, answer.status_code)
        assert _has_detail(answer)[0], answer.text

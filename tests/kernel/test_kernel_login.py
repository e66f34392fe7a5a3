"""%odyssey_login in a real kernel: the key is typed at the kernel's hidden prompt
(an ``input_request`` on the stdin channel, answered as a frontend does), checked
at once with a token exchange against a real engine that reads its key from a
file, and either accepted, naming the URL, or refused with one clear line that
changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from support.engines import RunningEngine, launch_engine
from support.kernel import Execution, KernelSession
from support.leaks import BEARER_TOKEN

pytestmark = pytest.mark.kernel

FILE_KEY = "ody_login_from_a_file_0123456789abcdef"
WRONG_KEY = "ody_not_the_right_key_9876543210fedcba"
PASTED_KEY = "ody_pasted_into_the_url_0123456789"
WHERE = (
    "from odyssey_jupyter.session.runtime import get_runtime; print(get_runtime().client.api_url)"
)


@pytest.fixture(scope="module")
def keyed_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEngine]:
    """An engine whose key comes from ``--api-key-file`` (FILE_KEY)."""
    key_file = tmp_path_factory.mktemp("key") / "api_key"
    key_file.write_text(FILE_KEY + "\n")
    key_file.chmod(0o600)
    running = launch_engine(tmp_path_factory.mktemp("engine"), "--api-key-file", str(key_file))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def kernel(
    engine: RunningEngine, keyed_engine: RunningEngine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KernelSession]:
    """A kernel configured by its environment for ``engine``; it logs in to the other."""
    env = {
        "ODYSSEY_API_URL": engine.url,
        "ODYSSEY_API_KEY": engine.api_key,
        "ODYSSEY_WAIT": "0",
        "ODYSSEY_DISPLAY": "",
    }
    session = KernelSession(env=env, cwd=tmp_path_factory.mktemp("notebook"))
    try:
        session.check("%load_ext odyssey_jupyter")
        yield session
        raw = list(session.iter_raw())
        for secret in (FILE_KEY, WRONG_KEY, engine.api_key):
            assert not [m for m in raw if secret in m], "a key appeared in a kernel message"
        assert not [m for m in raw if BEARER_TOKEN.search(m)], "a token appeared"
    finally:
        session.shutdown()


def login(kernel: KernelSession, line: str, typed: str) -> tuple[Execution, dict[str, object]]:
    """Run ``line`` and type ``typed`` at the prompt it shows; (the cell, the prompt)."""
    msg_id = str(kernel.client.execute(line, allow_stdin=True, stop_on_error=False))
    prompt = kernel.client.get_stdin_msg(timeout=60)
    assert prompt["msg_type"] == "input_request"
    kernel.client.input(typed)
    return kernel.wait_reply(msg_id, timeout=120), prompt["content"]


def configured_url(kernel: KernelSession) -> str:
    return kernel.check(WHERE).stdout().strip()


def test_a_wrong_key_is_refused_at_once_and_changes_nothing(
    kernel: KernelSession, engine: RunningEngine, keyed_engine: RunningEngine
) -> None:
    assert configured_url(kernel) == engine.url
    cell, prompt = login(kernel, f"%odyssey_login --url {keyed_engine.url}", WRONG_KEY)
    assert prompt["password"] is True and "key" in str(prompt["prompt"]).lower()
    assert not cell.ok
    shown = cell.stdout() + cell.stderr() + json.dumps(cell.error)
    assert f"the key was refused by {keyed_engine.url} (401" in shown
    assert "nothing changed" in shown and "Traceback" not in cell.stderr()
    assert "Key accepted" not in shown
    assert configured_url(kernel) == engine.url  # the runtime still uses the old settings
    listing = kernel.check("%odyssey_jobs --limit 1")
    assert listing.ok


def test_an_unreachable_url_says_so_and_changes_nothing(
    kernel: KernelSession, engine: RunningEngine, keyed_engine: RunningEngine
) -> None:
    closed = "http://127.0.0.1:9"
    cell, _ = login(kernel, f"%odyssey_login --url {closed}", FILE_KEY)
    shown = cell.stdout() + cell.stderr()
    assert not cell.ok and f"could not be checked with {closed}" in shown
    assert "Traceback" not in shown
    assert configured_url(kernel) == engine.url


def test_a_url_that_is_not_one_says_so_and_changes_nothing(
    kernel: KernelSession, engine: RunningEngine
) -> None:
    cell, _ = login(kernel, "%odyssey_login --url ftp://example.invalid", FILE_KEY)
    shown = cell.stdout() + cell.stderr()
    assert not cell.ok and "'ftp://example.invalid' is not an http(s) URL" in shown
    assert "nothing changed" in shown and "Traceback" not in shown
    assert configured_url(kernel) == engine.url


def test_the_right_key_is_accepted_and_names_its_url(
    kernel: KernelSession, keyed_engine: RunningEngine
) -> None:
    cell, _ = login(kernel, f"%odyssey_login --url {keyed_engine.url}", FILE_KEY)
    assert cell.ok, cell.error
    assert f"Key accepted by {keyed_engine.url} (in memory only" in cell.stdout()
    assert configured_url(kernel) == keyed_engine.url
    submitted = kernel.check(
        "%%odyssey_simulate --wait --no-download -o job\n0s start a moth at a lamp\n3s end",
        timeout=120,
    )
    assert submitted.ok
    job_id = kernel.check("print(job.job_id)").stdout().strip()
    with httpx.Client(base_url=keyed_engine.url, timeout=10) as http:  # the job is there
        grant = http.post("/auth/token", json={"api_key": FILE_KEY}).json()
        headers = {"Authorization": f"Bearer {grant['access_token']}"}
        assert http.get(f"/simulation-jobs/{job_id}", headers=headers).status_code == 200


@pytest.mark.parametrize(
    ("url", "secrets", "said"),
    [
        (PASTED_KEY, [PASTED_KEY], "'***' is not an http(s) URL (it looks like an API key"),
        ("http://me:hunter2secret@127.0.0.1:9", ["hunter2secret"], "http://***@127.0.0.1:9"),
    ],
)
def test_a_key_or_a_password_in_the_url_is_never_shown(
    kernel: KernelSession, url: str, secrets: list[str], said: str
) -> None:
    """The key pasted into --url, or a URL with a user and password: the error names
    the problem, never the secret."""
    before = configured_url(kernel)
    cell, _ = login(kernel, f"%odyssey_login --url {url}", FILE_KEY)
    shown = cell.stdout() + cell.stderr() + json.dumps(cell.error)
    assert not cell.ok and said in shown and "nothing changed" in shown, shown
    for secret in secrets:
        assert secret not in shown
    assert configured_url(kernel) == before

"""Hostile strings, a server that answers with them, and a check that none became markup.

Every payload that runs calls ``window.__pwned(n)`` (or opens a dialog), so a
browser test can count executions. The corpus covers tags, event handlers,
attribute break-outs with both quotes, ``javascript:`` URLs, ``</script>``, SVG,
CSS, comments and CDATA ends, and template braces. ``TERMINAL_PAYLOADS`` are the
terminal's own attacks (CSI, OSC, DCS, C1 controls, bidi, BEL, backspace, CR), and
``terminal_controls(text)`` lists any that reached a terminal's text raw.

``HostileServer`` is a tiny Simulate API on 127.0.0.1 (see docs/openapi.yaml): it
accepts submissions and answers every id, status, ``detail``, ``error_message``,
URL and total with strings from the corpus; artifacts are served from its own
``/files/`` route, the events log carrying hostile prompts.

``injections(markup)`` parses HTML/SVG with ``html.parser`` and lists every
element or attribute that does not belong to the project's own displays.

``code_templates`` and ``PLACEHOLDER_PROBES`` are data that would run code: sweep
templates in the Python form, and ``{name.attr}`` placeholders that reach modules,
callables, properties or private names.

``script_secret_echo(api)`` makes a :class:`ScriptedServer` an API that repeats
the key it was given (``ECHOED_KEY``) and the token it handed out in every text
field of every answer; ``secret_leaks(text)`` names any of them found again.
"""

from __future__ import annotations

import io
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from support.scripted_server import TOKEN, Answer, Request, ScriptedServer

PAYLOADS: tuple[str, ...] = (
    "<img src=x onerror=__pwned(1)>",
    '"><svg onload=__pwned(2)>',
    "'><script>__pwned(3)</script>",
    "</script><script>__pwned(4)</script>",
    "javascript:__pwned(5)",
    "<style>*{background:url(javascript:__pwned(6))}</style><b>css</b>",
    "{{constructor.constructor('__pwned(7)')()}} ${__pwned(7)}",
    '<a href="javascript:__pwned(8)" id=pwn8>x</a>',
    '<iframe srcdoc="<script>parent.__pwned(9)</script>"></iframe>',
    "<svg><script>__pwned(10)</script></svg>",
    '" onmouseover="__pwned(11)" data-x="',
    "' onfocus='__pwned(12)' autofocus tabindex=0 x='",
    "<details open ontoggle=__pwned(13)>",
    "<video><source onerror=__pwned(14)></video>",
    "--><img src=x onerror=__pwned(15)><!--",
    "]]><svg onload=__pwned(16)>",
    "&lt;img src=x onerror=__pwned(17)&gt;",
    "<input autofocus onfocus=__pwned(18)>",
    '<object data="javascript:__pwned(19)"></object>',
    "<math><mtext><table><mglyph><style><img src=x onerror=__pwned(20)>",
    "<body onload=__pwned(21)>",
    "<img src=x onerror=alert(22)>",
    "<marquee onstart=__pwned(23)>m</marquee>",
    "<form><button formaction=javascript:__pwned(24)>b</button></form>",
    "\x1b]8;;javascript:__pwned(25)\x1b\\link\x1b]8;;\x1b\\\x1b[2J\x1b[1A\r\u202eevil\x07",
)
"""Every string here is inert text when handled right; each one runs script when not
(the last one rewrites a terminal instead: text fallbacks must show it escaped)."""

TERMINAL_PAYLOADS: tuple[str, ...] = (
    "\x1b[2J\x1b[3J\x1b[HALL ITEMS COMPLETED OK",  # CSI: clear the screen, home, a lie
    "\x1b]0;pwned title\x07",  # OSC: retitle the window (BEL-terminated)
    "\x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\",  # OSC 8 link, ST-terminated
    "\x1bP+q544e\x1b\\",  # DCS: ask the terminal for its capabilities
    "\x1b[31;1mred and bold\x1b[0m",  # SGR colour
    "\x9b2J\x9d0;c1 title\x9c",  # 8-bit C1: CSI, OSC, ST
    "\u202ecod.exe",  # RLO: shows as exe.doc
    "\u2066isolated\u2069 \u200fmark",  # LRI ... PDI, RLM
    "bell\x07\x07",  # BEL
    "failed\x08\x08\x08\x08\x08\x08done!!",  # backspaces overwrite the word
    "failed\rcompleted",  # CR: the rest overwrites the line's start
    "nul\x00 and a line\u2028separator",
)
"""Text that drives a terminal when written raw; every one must reach it as visible escapes."""

_TERMINAL_RAW = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
)


def terminal_controls(text: str) -> list[str]:
    """Each control character, bidi control or line separator in ``text`` that a terminal
    would act on (newlines and tabs are fine), with what surrounds it."""
    return [repr(text[max(0, m.start() - 12) : m.end() + 12]) for m in _TERMINAL_RAW.finditer(text)]


URL_PAYLOADS: tuple[str, ...] = (
    "javascript:__pwned(31)",
    " JaVa\tScRiPt:__pwned(32)",
    "data:text/html,<script>__pwned(33)</script>",
    "vbscript:__pwned(34)",
)

SLASHLESS: tuple[str, ...] = tuple(p for p in PAYLOADS if "/" not in p and "\\" not in p)
"""Payloads that can name a directory (stream ids of recordings that are downloaded)."""


def payload(n: int) -> str:
    return PAYLOADS[n % len(PAYLOADS)]


# --------------------------------------------------------------------------- data that is code

_ENTRIES = "[{'timestamp_ms': 0, 'start': {'prompt': 'a cat'}}, {'timestamp_ms': 1000, 'end': {}}]"


def code_templates(marker: str) -> tuple[str, ...]:
    """Sweep templates in the Python body form; each creates the file ``marker`` if run.

    As data (a spec file, a dataset, a plain string) every one must be refused with
    nothing created; each evaluates to a valid script, so running it is never caught later.
    """
    touch = f"__import__('pathlib').Path({marker!r}).touch()"
    return (
        f"{touch} or {_ENTRIES}",
        f"script = [open({marker!r}, 'w').close()] and {_ENTRIES}",
        f"[e for e in {_ENTRIES} if not __import__('os').makedirs({marker!r}, exist_ok=True)]",
        f"{{'script': {_ENTRIES}, 'x': {touch}}}",
        f"# a comment first\n[{{'timestamp_ms': 0, 'start': {{'prompt': str({touch})}}}},\n"
        " {'timestamp_ms': 1000, 'end': {}}]",
        f"(lambda: {touch})() or {_ENTRIES}",
    )


PLACEHOLDER_PROBES: tuple[str, ...] = (
    "{helper.__globals__}",
    "{helper.__code__}",
    "{os.environ}",
    "{os.path.sep}",
    "{config.__class__}",
    "{config._key}",
    "{config.secret}",
    "{config.load}",
    "{config.anything}",
    "{holder.module.environ}",
    "{holder.factory.name}",
)
"""Placeholders that would reach code, modules or private state; see ``placeholder_scope``."""


def placeholder_scope(ran: list[str]) -> dict[str, object]:
    """Variables for ``PLACEHOLDER_PROBES``: any code of theirs that runs appends to ``ran``."""
    import os
    import types

    class Config:
        _key = "sk-private"

        @property
        def secret(self) -> str:
            ran.append("property")
            return "sk-from-a-property"

        def load(self) -> str:
            ran.append("method")
            return "loaded"

        def __getattr__(self, name: str) -> str:
            ran.append(f"__getattr__ {name}")
            return "sk-from-getattr"

    def helper() -> None:
        ran.append("helper")

    def factory() -> None:
        ran.append("factory")

    factory.name = "a name on a function"  # type: ignore[attr-defined]
    holder = types.SimpleNamespace(module=os, factory=factory)
    return {"helper": helper, "os": os, "config": Config(), "holder": holder}


# --------------------------------------------------------------------------- markup check

OWN_TAGS = frozenset(
    [
        "div",
        "span",
        "code",
        "b",
        "pre",
        "progress",
        "ol",
        "li",
        "video",
        "img",
        "a",
        "table",
        "caption",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "svg",
        "rect",
        "line",
        "text",
        "tspan",
        "title",
        "g",
        "circle",
        "image",
        "br",
        "figure",
        "figcaption",
        "label",
        "input",
        "button",
        "select",
        "option",
        "details",
        "summary",
        "script",
    ]
)
"""Every element the project's displays make (a ``<script>`` only bare, and free of the corpus)."""

OWN_ATTRIBUTES = frozenset(
    [
        "class",
        "style",
        "title",
        "data-time",
        "data-stream-id",
        "src",
        "href",
        "poster",
        "controls",
        "preload",
        "download",
        "alt",
        "max",
        "value",
        "onclick",
        "onload",
        "xmlns",
        "width",
        "height",
        "viewbox",
        "font-family",
        "font-size",
        "x",
        "y",
        "x1",
        "y1",
        "x2",
        "y2",
        "dy",
        "fill",
        "fill-opacity",
        "stroke",
        "stroke-width",
        "paint-order",
        "rx",
        "cx",
        "cy",
        "r",
        "text-anchor",
        "font-weight",
        "preserveaspectratio",
        "id",
        "type",
        "muted",
        "playsinline",
        "autoplay",
        "min",
        "step",
        "aria-label",
        "data-job-id",
        "data-row",
        "data-state",
        "data-compare",
        "data-attr",
    ]
)
_OWN_PARAM_ATTRIBUTE = re.compile(r"data-p[0-9]+")
"""The gallery's per-param filter attributes (params are matched by index, never by name)."""
URL_ATTRIBUTES = frozenset({"src", "href", "poster", "action", "formaction", "data"})


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.handlers: set[str] = set()
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in OWN_TAGS:
            self.problems.append(f"element <{tag}>")
        if tag == "script":
            self._in_script = True
            self.scripts.append("")
            if attrs:
                self.problems.append(f"<script> with attributes {attrs!r}")
        for name, value in attrs:
            text = value or ""
            if name not in OWN_ATTRIBUTES and not _OWN_PARAM_ATTRIBUTE.fullmatch(name):
                self.problems.append(f"attribute {name}= on <{tag}>")
            elif name.startswith("on"):
                self.handlers.add(text)
                if "__pwned" in text or "alert" in text:
                    self.problems.append(f"handler {name}={text!r} on <{tag}>")
            elif name in URL_ATTRIBUTES:
                probe = "".join(ch for ch in text if ch > " ").lower()
                if probe.startswith(("javascript:", "vbscript:", "data:text")):
                    self.problems.append(f"URL {name}={text!r} on <{tag}>")

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._in_script:
            self._in_script = False
            if "__pwned" in self.scripts[-1] or "alert(" in self.scripts[-1]:
                self.problems.append(f"script text {self.scripts[-1][:80]!r}")

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data

    def handle_comment(self, data: str) -> None:
        self.problems.append(f"comment <!--{data[:40]}-->")

    def handle_decl(self, decl: str) -> None:
        self.problems.append(f"declaration <!{decl[:40]}>")

    def unknown_decl(self, data: str) -> None:
        self.problems.append(f"declaration <![{data[:40]}")


def injections(markup: str) -> list[str]:
    """Elements, attributes, handlers and URLs in ``markup`` that are not the project's own."""
    parser = _Collect()
    parser.feed(markup)
    parser.close()
    if parser._in_script:
        parser.problems.append("a <script> that never ends")
    return parser.problems


def scripts(markup: str) -> list[str]:
    """The text of every ``<script>`` element in ``markup``, as a browser would split it."""
    parser = _Collect()
    parser.feed(markup)
    parser.close()
    return parser.scripts


# --------------------------------------------------------------------------- fake server


def _jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 40, 40)).save(out, format="JPEG")
    return out.getvalue()


class HostileServer:
    """The Simulate API, answering with hostile strings everywhere a string goes.

    ``total`` is what the list says its total is (an int, or a hostile string).
    Submitted jobs get hostile ids and end ``completed`` (with downloadable streams)
    or ``failed`` (with hostile ``error_message``s), alternately.
    With ``slashed_every=N`` every Nth submission is answered with an id holding a
    ``/``, which the client refuses (the refusal must be reported, escaped).
    Use as a context manager; ``url`` is its base URL.
    """

    API_KEY = "ody_hostile_test_key"

    def __init__(self, *, total: Any = 3, slashed_every: int = 0) -> None:
        self.total = total
        self.slashed_every = slashed_every
        self.lock = threading.Lock()
        self.jobs: dict[str, dict[str, Any]] = {}
        self.prompts: dict[str, list[str]] = {}
        self.seen: list[str] = []
        self.thumbnail = _jpeg()
        self._submitted = 0
        # Listed ids the client accepts (no '/' or '\\'): a list holding one it refuses
        # is refused whole (see ``slashed_every``).
        for index, job_id in enumerate(
            (PAYLOADS[0], PAYLOADS[1], PAYLOADS[14], PAYLOADS[12], PAYLOADS[10])
        ):
            status = ("completed", "failed", "completed", payload(index + 4), "cancelled")[index]
            self._add(job_id, status, index)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # ------------------------------------------------------------------ the world

    def _add(self, job_id: str, status: str, index: int) -> dict[str, Any]:
        streams = []
        if status == "completed":
            for number in range(2):
                stream_id = SLASHLESS[(index * 2 + number) % len(SLASHLESS)]
                stream = self._stream(stream_id, number, status="completed")
                if index == 0:  # the artifact host refuses this job's previews
                    stream["preview_url"] = f"/files/refused/{number}"
                streams.append(stream)
        elif status == "failed":
            streams = [
                {
                    **self._stream(payload(index + 9), 0, status=payload(index + 2)),
                    "error_message": payload(index + 11),
                    "video_url": URL_PAYLOADS[index % len(URL_PAYLOADS)],
                }
            ]
        job = {
            "job_id": job_id,
            "status": status,
            "priority": payload(index + 5),
            "created_at": payload(index + 6),
            "dispatched_at": None,
            "started_at": None,
            "completed_at": payload(index + 7) if status != "completed" else None,
            "error_message": payload(index + 8) if status != "completed" else None,
            "assigned_region": payload(index),
            "retry_count": 0,
            "estimated_wait_minutes": None,
            "streams": streams,
        }
        with self.lock:
            self.jobs[job_id] = job
        return job

    def _stream(self, stream_id: str, index: int, *, status: str) -> dict[str, Any]:
        return {
            "stream_id": stream_id,
            "script_index": index,
            "video_url": f"/files/video/{index}",
            "events_url": f"/files/events/{index}",
            "thumbnail_url": f"/files/thumbnail/{index}",
            "preview_url": f"/files/preview/{index}",
            "frame_count": 24,
            "duration_seconds": 1.0,
            "status": status,
            "error_message": None,
        }

    def submit(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self._submitted += 1
            number = self._submitted
        job_id = SLASHLESS[number % len(SLASHLESS)] + f" #{number}"
        if self.slashed_every and number % self.slashed_every == 0:
            job_id = PAYLOADS[3] + f" #{number}"  # "</script>...": refused as an id
        status = "completed" if number % 2 else "failed"
        job = self._add(job_id, status, number)
        scripts = body.get("scripts") or [body.get("script") or []]
        self.prompts[job_id] = [
            entry[action]["prompt"]
            for script in scripts
            for entry in script
            for action in ("start", "interact")
            if action in entry
        ]
        return job

    def events(self) -> bytes:
        lines = [{"type": "start", "timestamp_ms": 0, "prompt": PAYLOADS[0]}]
        lines += [
            {"type": "interact", "timestamp_ms": 100 * (i + 1), "prompt": text}
            for i, text in enumerate(PAYLOADS[1:])
        ]
        return "\n".join(json.dumps(line) for line in lines).encode()

    # ------------------------------------------------------------------ HTTP

    def _handler(self) -> type[BaseHTTPRequestHandler]:  # noqa: C901 - one branch per attack route
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _send(self, status: int, body: Any, kind: str = "application/json") -> None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> dict[str, Any]:
                size = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(size) if size else b"{}"
                try:
                    value = json.loads(raw)
                except ValueError:
                    return {}
                return value if isinstance(value, dict) else {}

            def do_POST(self) -> None:
                path = urlsplit(self.path).path
                body = self._body()
                server.seen.append(f"POST {path}")
                if path == "/auth/token":
                    self._send(200, {"access_token": "hostile-token", "expires_in": 3600})
                elif path == "/simulation-jobs":
                    self._send(200, {**server.submit(body), "status": "pending"})
                else:
                    self._send(404, {"detail": payload(2)})

            def do_DELETE(self) -> None:
                server.seen.append(f"DELETE {self.path}")
                self._send(400, {"detail": payload(3) + " cannot be cancelled"})

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                path, query = parts.path, parse_qs(parts.query)
                server.seen.append(f"GET {path}")
                with server.lock:
                    jobs = list(server.jobs.values())
                if path == "/simulation-jobs":
                    if query.get("active") == ["true"]:
                        jobs = [j for j in jobs if j["status"] not in ("completed", "failed")]
                        jobs = [j for j in jobs if j["status"] != "cancelled"]
                    rows = [
                        {k: j[k] for k in ("job_id", "status", "priority", "created_at")}
                        | {"completed_at": j["completed_at"], "error_message": j["error_message"]}
                        for j in reversed(jobs)
                    ]
                    self._send(200, {"jobs": rows, "total": server.total, "limit": 20, "offset": 0})
                elif path.startswith("/simulation-jobs/"):
                    job_id = unquote(path[len("/simulation-jobs/") :])
                    with server.lock:
                        job = server.jobs.get(job_id)
                    if job is None:
                        self._send(404, {"detail": payload(4)})
                    else:
                        self._send(200, job)
                elif path.startswith("/recordings/"):
                    stream_id = unquote(path[len("/recordings/") :])
                    stream = next(
                        (s for j in jobs for s in j["streams"] if s["stream_id"] == stream_id),
                        None,
                    )
                    if stream is None or stream["status"] != "completed":
                        self._send(404, {"detail": payload(5)})
                        return
                    fields = ("video_url", "events_url", "thumbnail_url", "preview_url")
                    base = server.url
                    self._send(
                        200,
                        {"stream_id": stream_id, "frame_count": 24, "duration_seconds": 1.0}
                        | {name: base + stream[name] for name in fields},
                    )
                elif path.startswith("/files/"):
                    kind = path.split("/")[2]
                    if kind == "events":
                        self._send(200, server.events(), "application/x-ndjson")
                    elif kind == "thumbnail":
                        self._send(200, server.thumbnail, "image/jpeg")
                    elif kind == "refused":
                        self._send(403, {"detail": PAYLOADS[21]})
                    else:
                        self._send(200, b"\x00\x00\x00\x08free" * 8, "video/mp4")
                else:
                    self._send(404, {"detail": payload(7)})

        return Handler


# --------------------------------------------------------------------------- echoed secrets

ECHOED_KEY = "ody_k3y9Echoed-by.the/server"
"""The API key a client gives the secret-echoing API (it has characters URLs encode)."""


def echoing(text: str) -> str:
    """``text`` followed by the key and the bearer token, as sent, URL-encoded, in
    upper case and cut short: what a careless server or proxy repeats back."""
    return (
        f"{text} (key {ECHOED_KEY}; {quote(ECHOED_KEY, safe='')}; Bearer {TOKEN}; "
        f"{TOKEN.upper()}; {TOKEN[:12]})"
    )


def secret_leaks(text: str) -> list[str]:
    """Which secret (the key, the token) shows in ``text`` in any of the forms
    :func:`echoing` uses: its first 8 characters are enough to count."""
    lowered = text.lower()
    named = {"the API key": ECHOED_KEY, "the bearer token": TOKEN}
    return [name for name, secret in named.items() if secret[:8].lower() in lowered]


def echoing_job(job_id: str, status: str, *, streams: int = 1) -> dict[str, Any]:
    """A job detail whose every text (ids and status aside) echoes the secrets."""
    stream = {
        "script_index": 0,
        "video_url": echoing("https://cdn.example/v.mp4?sig="),
        "events_url": f"https://cdn.example/e.jsonl?key={quote(ECHOED_KEY, safe='')}",
        "status": status,
        "error_message": echoing("the stream could not be rendered"),
    }
    return {
        "job_id": job_id,
        "status": status,
        "priority": echoing("normal"),
        "created_at": echoing("2026-01-01T00:00:00Z"),
        "dispatched_at": echoing("2026-01-01T00:00:01Z"),
        "started_at": echoing("2026-01-01T00:00:02Z"),
        "completed_at": echoing("2026-01-01T00:00:03Z"),
        "error_message": echoing("the job failed"),
        "assigned_region": echoing("eu-west"),
        "retry_count": 0,
        "streams": [{**stream, "stream_id": f"{job_id}-s{n}"} for n in range(streams)],
    }


def script_secret_echo(api: ScriptedServer, jobs: int = 4) -> None:
    """Script ``api`` as a Simulate API that echoes the secrets in every text it sends:
    submissions ``echo-1``... are accepted and then fail; the job list, recordings and
    every refusal (404, 422, 429) echo them too."""
    submitted: list[int] = []

    def submit(_: Request) -> Answer:
        submitted.append(1)
        job = echoing_job(f"echo-{len(submitted)}", "pending")
        return Answer.json({**job, "streams": []})

    api.route("POST", "/simulation-jobs", submit)
    rows = []
    for number in range(1, jobs + 1):
        job = echoing_job(f"echo-{number}", "failed")
        api.route("GET", f"/simulation-jobs/{job['job_id']}", Answer.json(job))
        rows.append({k: v for k, v in job.items() if k != "streams"})

    def listing(request: Request) -> Answer:
        shown = [] if "active=true" in request.query else rows
        return Answer.json({"jobs": shown, "total": len(shown)})

    api.route("GET", "/simulation-jobs", listing)
    api.route(
        "GET",
        "/recordings/echo-1-s0",
        Answer.json({"stream_id": "echo-1-s0", "video_url": echoing("https://cdn.example/v?")}),
    )
    recording = {"stream_id": "echo-1-s0", "started_at": echoing("today"), "ended_at": echoing("")}
    api.route("GET", "/stream-recordings", Answer.json({"recordings": [recording]}))
    api.route("GET", "/simulation-jobs/gone", Answer.json({"detail": echoing("no job")}, 404))
    refusal = {"detail": [{"loc": ["body", echoing("script")], "msg": echoing("bad field")}]}
    api.route("DELETE", "/simulation-jobs/echo-1", Answer.json(refusal, 422))
    usage = {
        "error": "MONTHLY_LIMIT_REACHED",
        "message": echoing("out of hours"),
        "action": echoing("upgrade"),
        "action_url": echoing("https://example.test/billing?"),
        "details": {echoing("plan"): echoing("free")},
    }
    api.route("GET", "/recordings/limited", Answer.json(usage, 429))


@contextmanager
def hostile_server(**kwargs: Any) -> Iterator[HostileServer]:
    with HostileServer(**kwargs) as server:
        yield server


__all__ = [
    "ECHOED_KEY",
    "PAYLOADS",
    "PLACEHOLDER_PROBES",
    "SLASHLESS",
    "TERMINAL_PAYLOADS",
    "URL_PAYLOADS",
    "HostileServer",
    "code_templates",
    "echoing",
    "echoing_job",
    "hostile_server",
    "injections",
    "payload",
    "placeholder_scope",
    "script_secret_echo",
    "scripts",
    "secret_leaks",
    "terminal_controls",
]

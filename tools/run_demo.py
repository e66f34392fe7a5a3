"""Run a notebook headless against the embedded engine and export it as one HTML page.

    python tools/run_demo.py notebooks/quickstart.ipynb build/quickstart.html

What it does, and why:

* The kernel runs with its working directory next to the HTML page (``build/``), so
  the players' relative ``odyssey_recordings/...`` video paths resolve when the page
  is opened from disk.
* No API key is passed on: the extension starts its local engine, with its data
  under ``build/demo-engine`` (``ODYSSEY_LOCAL_DATA_DIR``) and its submission history
  in ``build/demo-history.jsonl``, so the demo is self-contained and repeatable and
  its jobs never enter the user's own history. ``ODYSSEY_WAIT=1`` makes every
  simulation cell wait, because a headless run keeps only what arrives while a cell
  runs.
* The engine the demo started is stopped at the end (it is detached from the
  kernel so that it survives kernel restarts in normal use); its data directory
  and the recordings stay, so the page keeps working. Each run starts from a fresh
  data directory so the job browser shows this run's jobs only.
* The page is written by nbconvert's HTMLExporter without any CDN script (widget
  renderer, require.js, MathJax): every job's output is its final static HTML, so
  the page plays its videos and shows every outcome with no network at all. The
  stock templates show the same outputs; only their CDN scripts are left out here.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from odyssey_jupyter.local.launch.manage import stop_engine

CELL_TIMEOUT = 300


def demo_env(data_dir: Path, history: Path) -> dict[str, str]:
    """This process's environment, minus any API key, plus the headless-run settings."""
    env = dict(os.environ)
    for name in ("ODYSSEY_API_KEY", "ODYSSEY_API_URL"):
        env.pop(name, None)  # the demo always uses the embedded engine
    env.update(
        ODYSSEY_WAIT="1",
        ODYSSEY_LOCAL_DATA_DIR=str(data_dir),
        ODYSSEY_HISTORY_PATH=str(history),
        PYTHONUNBUFFERED="1",
    )
    return env


def execute(notebook: Path, workdir: Path, env: dict[str, str]) -> Any:
    """Execute ``notebook`` in a fresh kernel (cwd ``workdir``, environment ``env``).

    Raises nbclient's ``CellExecutionError`` on the first failing cell. No widget state
    is stored: a headless run shows no widgets, and its outputs need none.
    """
    import nbformat
    from nbclient import NotebookClient
    from traitlets.config import Config

    nb = nbformat.read(notebook, as_version=4)
    with tempfile.TemporaryDirectory(prefix="odyssey-demo-") as sockets:
        config = Config()
        if os.name == "posix":
            # Unix sockets in a private folder: the kernel's traffic never touches the
            # network, and ipykernel has no plain-TCP warning to print. The path is
            # absolute because the kernel runs in ``workdir``.
            config.KernelManager.transport = "ipc"
            config.KernelManager.ip = str(Path(sockets) / "kernel")
        client = NotebookClient(
            nb,
            config=config,
            timeout=CELL_TIMEOUT,
            kernel_name="python3",
            resources={"metadata": {"path": str(workdir)}},
            store_widget_state=False,
        )
        client.execute(env=env)  # passed on to the kernel manager's start_kernel
    return nb


# The page must work offline ("on a plane"): nothing in it may come from a CDN. A
# headless run leaves no widget views (every job cell ends as its final HTML or a
# dated snapshot, the job browser as its snapshot table), so nbconvert's stock lab
# template needs only its require.js, widget renderer, MathJax and mermaid scripts
# left out.
_TEMPLATE = r"""{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


def export_html(nb: Any, target: Path) -> None:
    """Write ``nb`` as one self-contained HTML page that loads nothing from the network."""
    import jinja2
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        extra_loaders=[jinja2.DictLoader({"odyssey_demo.html.j2": _TEMPLATE})],
        template_file="odyssey_demo.html.j2",
    )
    body, _ = exporter.from_notebook_node(nb)
    target.write_text(body, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("html", type=Path)
    args = parser.parse_args(argv)
    started = time.monotonic()

    notebook = args.notebook.resolve()
    target = args.html.resolve()
    workdir = target.parent
    workdir.mkdir(parents=True, exist_ok=True)
    data_dir = workdir / "demo-engine"
    recordings = workdir / "odyssey_recordings"
    history = workdir / "demo-history.jsonl"

    stop_engine(data_dir)  # left over from an interrupted run
    shutil.rmtree(data_dir, ignore_errors=True)
    shutil.rmtree(recordings, ignore_errors=True)
    history.unlink(missing_ok=True)

    print(f"Running {args.notebook} headless on the local engine (data in {data_dir}) ...")
    try:
        nb = execute(notebook, workdir, demo_env(data_dir, history))
    except Exception as exc:
        print(f"demo failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        # the package's own stop: it signals only a process that proves it is the engine
        stopped = stop_engine(data_dir)
        print(stopped.message, file=sys.stdout if stopped.stopped else sys.stderr)
    export_html(nb, target)
    elapsed = time.monotonic() - started
    videos = sorted(recordings.glob("*/*/video.mp4")) if recordings.exists() else []
    print(f"Wrote {target} ({len(videos)} recordings in {recordings}) in {elapsed:.1f} s.")
    print(f"Open it in a browser: file://{target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

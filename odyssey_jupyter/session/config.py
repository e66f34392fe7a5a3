"""The knobs users turn with ``%config OdysseyJupyter.<name> = ...``.

A traitlets ``Configurable`` so IPython's ``%config`` lists and sets them. Outside
IPython the same object exists with its defaults (and environment overrides), so
the sync layer and the poller read their settings from one place. The client, a
layer below, is handed them: this module publishes ``get_config`` as the settings
of any client made without its own (``client.settings``).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from traitlets import Bool, CaselessStrEnum, Float, Int, Unicode, default, validate
from traitlets.config import Configurable

from odyssey_jupyter.client import settings as client_settings
from odyssey_jupyter.client.settings import (
    MAX_ARTIFACT_MB,
    MAX_JSON_MB,
    PACES,
    megabytes,
    pace_from_environment,
)
from odyssey_jupyter.errors import ConfigurationError
from odyssey_jupyter.protocol.declarations import HOSTED_MAX_ACTIVE


def _env_flag(name: str) -> bool | None:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    return raw.strip().lower() in {"1", "true", "yes", "on"}


class OdysseyJupyter(Configurable):
    """Settings of the odyssey_jupyter extension."""

    poll_interval_min = Float(
        0.25, help="Shortest time between two status polls (seconds), used right after a change."
    ).tag(config=True)
    poll_interval_max = Float(
        5.0, help="Longest time between two status polls (seconds), reached while nothing changes."
    ).tag(config=True)
    wait_by_default = Bool(
        help="Make %%odyssey_simulate wait for the job to finish, as --wait does. "
        "Defaults to the environment variable ODYSSEY_WAIT=1 (for headless runs)."
    ).tag(config=True)
    recordings_dir = Unicode(
        "odyssey_recordings",
        help="Where finished recordings are downloaded; relative paths are under the "
        "working directory, which keeps them playable from the notebook's folder.",
    ).tag(config=True)
    local_pace = CaselessStrEnum(
        list(PACES),
        default_value=None,
        allow_none=True,
        help="Pace of the local engine a kernel without a key starts: 'fast' renders as fast "
        "as the CPU allows; 'realtime' at video speed, so Cancel and live status can be "
        "tried. An engine already serving at another pace is kept (it serves every kernel): "
        "the kernel says so and how to switch (%odyssey_local stop). Defaults to "
        "ODYSSEY_LOCAL_PACE; unset, any running engine is used (a new one renders fast).",
    ).tag(config=True)
    embed_videos = CaselessStrEnum(
        ["auto", "always", "never"],
        default_value="auto",
        help="'never': players reference the downloaded file (JupyterLab, Notebook 7). "
        "'always': embed a base64 copy up to embed_max_mb. 'auto': embed only where files "
        "cannot be served (Colab, VS Code).",
    ).tag(config=True)
    embed_max_mb = Float(
        20.0, help="Largest video (MB) ever embedded into a notebook; larger ones are linked."
    ).tag(config=True)
    nest_asyncio = Bool(
        True,
        help="Let asyncio.run(...) work inside notebook cells, so code written from the "
        "Simulate API guide runs unchanged. The poller does not depend on it. Applied "
        "when the extension loads and not undone: set it before %load_ext to keep it off.",
    ).tag(config=True)
    download_previews = Bool(
        True,
        help="Also download each stream's short preview and thumbnail (the video and "
        "its events log, which holds the chapters, are always downloaded).",
    ).tag(config=True)

    max_json_mb = Float(
        MAX_JSON_MB,
        help="Largest JSON answer (MB, after decompression) read from the API; a larger one "
        "stops with ResponseTooLargeError before it is parsed. Also caps error bodies, "
        "events logs and thumbnails.",
    ).tag(config=True)
    max_artifact_mb = Float(
        MAX_ARTIFACT_MB,
        help="Largest video or preview (MB) ever downloaded; a larger one, or one longer "
        "than its declared Content-Length, stops with ResponseTooLargeError and leaves no "
        "file. The events log and the thumbnail, read whole, are capped by max_json_mb.",
    ).tag(config=True)
    max_image_megapixels = Float(
        16.0,
        help="Largest image from a server (thumbnails) decoded in the kernel, in megapixels; "
        "the size is read from the image header first, so a decompression bomb is never "
        "decoded. Start images you pass have their own cap (64 megapixels).",
    ).tag(config=True)
    finish_submissions_timeout = Float(
        30.0,
        help="When the kernel (or Python) exits, how long it waits for submissions still "
        "in flight (seconds) so that no job is silently lost; any it could not finish are "
        "reported on stderr with their first prompt. 0 reports without waiting.",
    ).tag(config=True)
    script_warnings = Bool(
        help="Show a script's warnings (interactions closer than the 3 s the hosted API "
        "recommends) in --dry-run, when %%odyssey_simulate submits and on Job.warnings. "
        "They never stop a job. Defaults to true; ODYSSEY_SCRIPT_WARNINGS=0 turns them off."
    ).tag(config=True)
    price_per_video_second = Float(
        0.0,
        help="What one second of generated video costs you (any currency); when set, "
        "--dry-run --sweep shows the estimated cost of the sweep. 0 means unknown.",
    ).tag(config=True)
    sweep_max_in_flight = Int(
        HOSTED_MAX_ACTIVE,
        help="Jobs a sweep keeps queued or running at once when it is not told "
        f"(max_in_flight=). {HOSTED_MAX_ACTIVE} is the hosted API's queue cap; a local "
        "engine that declares its own cap (--max-queued) is held to that instead.",
    ).tag(config=True)

    @default("wait_by_default")
    def _wait_default(self) -> bool:
        return bool(_env_flag("ODYSSEY_WAIT"))

    @default("script_warnings")
    def _script_warnings_default(self) -> bool:
        return _env_flag("ODYSSEY_SCRIPT_WARNINGS") is not False

    @default("local_pace")
    def _pace_default(self) -> str | None:
        return pace_from_environment()

    @validate("poll_interval_min", "poll_interval_max")
    def _positive(self, proposal: dict[str, object]) -> float:
        value = float(proposal["value"])  # type: ignore[arg-type]
        if value <= 0:
            raise ConfigurationError(
                f"{proposal['trait'].name} must be above 0 seconds, not {value}"  # type: ignore[attr-defined]
            )
        return value

    @validate("sweep_max_in_flight")
    def _at_least_one(self, proposal: dict[str, object]) -> int:
        value: int = int(proposal["value"])  # type: ignore[call-overload]
        if value < 1:
            raise ConfigurationError(f"sweep_max_in_flight must be 1 or more, not {value}")
        return value

    @validate("embed_max_mb", "finish_submissions_timeout", "price_per_video_second")
    def _non_negative(self, proposal: dict[str, object]) -> float:
        value = float(proposal["value"])  # type: ignore[arg-type]
        if value < 0:
            name = proposal["trait"].name  # type: ignore[attr-defined]
            raise ConfigurationError(f"{name} must be 0 or more, not {value}")
        return value

    @validate("max_json_mb", "max_artifact_mb", "max_image_megapixels")
    def _positive_cap(self, proposal: dict[str, object]) -> float:
        value = float(proposal["value"])  # type: ignore[arg-type]
        name = proposal["trait"].name  # type: ignore[attr-defined]
        if not 0 < value < float("inf"):
            raise ConfigurationError(f"{name} must be a number above 0, not {value}")
        return value

    def json_cap_bytes(self) -> int:
        """``max_json_mb`` in bytes."""
        return megabytes(self.max_json_mb)

    def artifact_cap_bytes(self) -> int:
        """``max_artifact_mb`` in bytes."""
        return megabytes(self.max_artifact_mb)

    def image_pixel_cap(self) -> int:
        """``max_image_megapixels`` in pixels."""
        return int(self.max_image_megapixels * 1_000_000)

    def recordings_path(self) -> Path:
        """The recordings directory as an absolute path (not created here)."""
        return Path(self.recordings_dir).expanduser().absolute()

    def poll_bounds(self) -> tuple[float, float]:
        """(min, max) poll intervals, in order even if set the wrong way round."""
        low, high = self.poll_interval_min, self.poll_interval_max
        return (low, high) if low <= high else (high, low)


_lock = threading.Lock()
_current: OdysseyJupyter | None = None


def get_config() -> OdysseyJupyter:
    """The one settings object of this process (created with defaults on first use)."""
    global _current
    with _lock:
        if _current is None:
            _current = OdysseyJupyter()
        return _current


def set_config(config: OdysseyJupyter) -> None:
    """Make ``config`` the current settings (the extension passes the shell's instance)."""
    global _current
    with _lock:
        _current = config


client_settings.publish(get_config)  # a client made without settings reads these

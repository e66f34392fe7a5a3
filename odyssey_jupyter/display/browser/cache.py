"""Per-process caches of finished jobs' details and thumbnails.

A terminal job never changes, so every browser (and every refresh of a page)
re-uses what was fetched once instead of asking the API again. Bounded, so a
long session browsing thousands of jobs stays small.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from odyssey_jupyter.protocol.types import SimulationJobDetail

K = TypeVar("K")
V = TypeVar("V")

THUMB_PX = 96
"""Side of a (square) table thumbnail; the widget shows it at 48 px (sharp on HiDPI)."""


class LruCache(Generic[K, V]):
    """A small thread-safe LRU map (the loop thread writes, tests read)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._items

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


details: LruCache[str, SimulationJobDetail] = LruCache(2000)
"""Finished jobs' details by job id (a terminal job never changes)."""
thumbs: LruCache[str, tuple[bytes, str] | None] = LruCache(1000)
"""Finished jobs' table thumbnails (bytes, format); ``None``: the job has none."""


def clear_caches() -> None:
    """Forget cached details and thumbnails of finished jobs (benchmarks, tests)."""
    details.clear()
    thumbs.clear()


def shrink_thumbnail(data: bytes) -> tuple[bytes, str] | None:
    """(bytes, format) of a small JPEG thumbnail; ``None`` when the image is unreadable or
    larger than ``max_image_megapixels``. Without Pillow, the original, when its header
    declares a size within the cap (the page decodes it then).

    A full-size portrait thumbnail is tens of kB: twenty of them per page would
    cross the kernel socket on every page turn. The size is checked from the
    header before decoding: a 140 KB PNG may declare a canvas of hundreds of MB.
    """
    from odyssey_jupyter.script.images import header_size, open_capped
    from odyssey_jupyter.session.config import get_config

    cap = get_config().image_pixel_cap()
    try:
        from PIL import ImageOps
    except ImportError:
        size = header_size(data)
        return (data, "jpeg") if size is not None and 0 < size[0] * size[1] <= cap else None
    image = open_capped(data, cap)
    if image is None:
        return None
    try:
        with image:
            image.draft("RGB", (THUMB_PX * 2, THUMB_PX * 2))  # JPEG: decode at a reduced scale
            # square crop: portrait and landscape rows keep the same column width
            square = ImageOps.fit(image.convert("RGB"), (THUMB_PX, THUMB_PX))
            out = io.BytesIO()
            square.save(out, format="JPEG", quality=80)
            return out.getvalue(), "jpeg"
    except Exception:  # a header that promised an image the body does not hold
        return None

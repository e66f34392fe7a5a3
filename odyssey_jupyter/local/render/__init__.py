"""The renderer: one stream's script -> video, preview, thumbnail and events log.

``stream`` drives a render frame by frame; ``scenes`` draws what one prompt looks
like, with ``palette`` (looks from prompt text), ``caption`` (the prompt bar) and
``frames`` (the yuv420p buffers); ``encode`` writes the MP4 files. Only the render
workers import this package: it pulls in PyAV, NumPy and Pillow.
"""

from odyssey_jupyter.local.render.stream import (
    FADE_SECONDS,
    RenderCancelled,
    RenderFailed,
    RenderResult,
    build_scenes,
    render_stream,
)

__all__ = [
    "FADE_SECONDS",
    "RenderCancelled",
    "RenderFailed",
    "RenderResult",
    "build_scenes",
    "render_stream",
]

"""What a sweep would do, shown by ``--dry-run --sweep`` before anything is sent."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from odyssey_jupyter.text.markup import escape, printable

if TYPE_CHECKING:
    from odyssey_jupyter.sweeps.plan import PlannedItem


class SweepPlan:
    """``--dry-run --sweep``: items, jobs, seconds of video, and the first items' scripts."""

    def __init__(
        self, name: str, items: Sequence[PlannedItem], *, pack: int = 1, first: int = 3
    ) -> None:
        self.name = name
        self.items = list(items)
        self.pack = pack
        self.first = first

    @property
    def jobs(self) -> int:
        return -(-len(self.items) // max(1, self.pack))

    @property
    def seconds(self) -> float:
        return sum(item.seconds for item in self.items)

    def _head(self) -> str:
        from odyssey_jupyter.session.config import get_config
        from odyssey_jupyter.sweeps.budget import cost_text

        cost = cost_text(self.seconds, get_config().price_per_video_second)
        return (
            f"sweep {self.name}: {len(self.items)} items, {self.jobs} jobs, "
            f"{self.seconds:g} s of video{', ' + cost if cost else ''} (nothing sent)"
        )

    def _scripts(self) -> list[tuple[str, str]]:
        from odyssey_jupyter.script.timeline_format import format_timeline
        from odyssey_jupyter.sweeps.plan import describe_params

        return [
            (f"item {item.index} ({describe_params(item.params)})", format_timeline([item.script]))
            for item in self.items[: self.first]
        ]

    def __repr__(self) -> str:
        lines = [self._head()]
        for title, text in self._scripts():
            lines.append(title)
            lines.extend("    " + row for row in text.splitlines())
        return printable("\n".join(lines))

    def _repr_html_(self) -> str:
        parts = [f"<div><b>{escape(self._head())}</b></div>"]
        for title, text in self._scripts():
            parts.append(
                f'<div>{escape(title)}</div><pre style="margin:2px 0 6px 1em">{escape(text)}</pre>'
            )
        return '<div class="odyssey-sweep-plan">' + "".join(parts) + "</div>"

"""The status widget and the job browser draw each status in the one palette's colour."""

from __future__ import annotations

import pytest

from odyssey_jupyter.display.browser import rows as browser_rows
from odyssey_jupyter.display.common.palette import OTHER_COLOUR, STATUS_COLOURS, status_colour, tint
from odyssey_jupyter.display.job import status_html as status
from odyssey_jupyter.protocol.types import JobStatus


@pytest.mark.parametrize("name", [member.value for member in JobStatus])
def test_both_badges_use_the_palette_colour(name: str) -> None:
    colour = STATUS_COLOURS[name]
    assert f"background:{colour}" in status.badge_html(name, "x")
    row = browser_rows.badge_html(JobStatus(name))
    assert f"color:{colour};background:{tint(colour)}" in row


def test_an_unknown_status_gets_the_other_colour_in_both() -> None:
    assert status_colour("resharding") == OTHER_COLOUR
    assert f"background:{OTHER_COLOUR}" in status.badge_html("resharding", "x")
    assert f"color:{OTHER_COLOUR};" in browser_rows.badge_html(JobStatus("resharding"))


def test_tint_mixes_into_white() -> None:
    assert tint("#000000", 0.0) == "#ffffff"
    assert tint("#000000", 1.0) == "#000000"
    assert tint("#2e7d32") == "#e0ece0"

"""The sweep view is drawn from one snapshot: counts, bar, ETA, tiles and buttons agree.

A stand-in sweep (what the view reads of :class:`~odyssey_jupyter.sweeps.Sweep`)
in the states a user meets: rendering, paused by the user, then cancelled with
some items completed.
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pytest
from support.fresh_imports import loaded_by
from support.waiting import wait_until

from odyssey_jupyter.display.common.palette import status_colour
from odyssey_jupyter.display.media.gallery import gallery_html
from odyssey_jupyter.display.sweep.live import SweepLive
from odyssey_jupyter.display.sweep.snapshot import SweepSnapshot
from odyssey_jupyter.display.sweep.summary import SweepFinal, status_html, status_line
from odyssey_jupyter.sweeps.states import ItemState


class SweepStandIn:
    def __init__(self, statuses: list[str], state: str = "running", **extra: Any) -> None:
        self.name = "pets"
        self.state = state
        self.finished = state in ("done", "cancelled") and "running" not in statuses
        self.items = [
            SimpleNamespace(
                index=i,
                params={"animal": f"a{i}"},
                script=[],
                status=status,
                error=None,
                recordings=[],
            )
            for i, status in enumerate(statuses)
        ]
        self.counts: dict[str, int] = {state.value: 0 for state in ItemState}
        self.counts["total"] = len(statuses)  # the view counts the items itself
        self.target = 3
        self.limit = 3
        self.message: str | None = extra.get("message")
        self.last_limit_reason = None
        self._eta = extra.get("eta")
        self._budget: str | None = extra.get("budget")
        self._dataset: str | None = extra.get("dataset")
        self.listeners: list[Any] = []

    def add_listener(self, fn: Any) -> Any:
        self.listeners.append(fn)
        return lambda: self.listeners.remove(fn)

    def pause(self) -> None: ...

    resume = cancel = retry_failed = pause

    def move(self, statuses: list[str], state: str | None = None) -> None:
        """The sweep's loop moved on: new item states, then its listeners are told."""
        for item, status in zip(self.items, statuses, strict=True):
            item.status = status
        self.state = state or self.state
        for fn in list(self.listeners):
            fn(self)

    def in_flight(self) -> int:
        return sum(1 for item in self.items if item.status in ("queued", "running"))

    def videos_per_minute(self) -> float | None:
        return None

    def budget_text(self) -> str | None:
        return self._budget

    def output_text(self) -> str | None:
        return self._dataset

    def eta_seconds(self) -> float | None:
        return self._eta


def _chips(html: str) -> dict[str, int]:
    return {
        state: int(count)
        for state, count in re.findall(r'data-state="(\w+)"[^>]*>(\d+) \w+</span>', html)
    }


def _tiles(html: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for state in re.findall(r'<figure class="odg-card" data-state="(\w+)"', html):
        found[state] = found.get(state, 0) + 1
    return found


def test_the_counts_are_the_tiles_counted() -> None:
    sweep = SweepStandIn(["running"] * 3 + ["pending"] * 5)
    snap = SweepSnapshot.of(sweep)  # type: ignore[arg-type]
    assert (
        _chips(status_html(snap))
        == _tiles(gallery_html(snap.items))
        == {
            "running": 3,
            "pending": 5,
        }
    )


def test_each_state_is_counted_in_the_colour_a_job_of_that_status_has() -> None:
    sweep = SweepStandIn([state.value for state in ItemState], state="paused")
    html = status_html(SweepSnapshot.of(sweep))  # type: ignore[arg-type]
    for state in ItemState:
        assert f'data-state="{state.value}" style="color:{status_colour(state.value)};' in html, (
            state
        )


@pytest.mark.parametrize("eta", [None, 0.0, 0.4])
def test_no_eta_unless_it_can_be_estimated(eta: float | None) -> None:
    sweep = SweepStandIn(["running"] * 6 + ["pending"] * 2, eta=eta)
    assert "ETA" not in status_html(sweep) and "ETA" not in status_line(sweep)  # type: ignore[arg-type]


def test_an_eta_shows_while_items_are_left() -> None:
    sweep = SweepStandIn(["running", "completed"], eta=90.0)
    assert "ETA 1 min 30 s" in status_line(sweep)  # type: ignore[arg-type]


def test_buttons_act_only_when_they_can() -> None:
    running = SweepSnapshot.of(SweepStandIn(["running", "failed"]))  # type: ignore[arg-type]
    assert [running.can(a) for a in ("pause", "resume", "cancel", "retry")] == [
        True,
        False,
        True,
        True,
    ]
    paused = SweepSnapshot.of(SweepStandIn(["running"], state="paused"))  # type: ignore[arg-type]
    assert [paused.can(a) for a in ("pause", "resume", "cancel", "retry")] == [
        False,
        True,
        True,
        False,
    ]
    over = SweepSnapshot.of(SweepStandIn(["completed", "failed"], state="cancelled"))  # type: ignore[arg-type]
    assert not any(over.can(a) for a in ("pause", "resume", "cancel", "retry"))


def test_a_cancelled_sweep_shows_what_completed_and_no_stale_line() -> None:
    statuses = ["completed"] * 2 + ["cancelled"] * 6
    sweep = SweepStandIn(statuses, state="cancelled", message="paused by you; resume() continues")
    html = SweepFinal(sweep)._repr_html_()  # type: ignore[arg-type]
    assert "2/8 completed" in html and "8/8" not in html
    assert re.search(r'class="odyssey-sweep-completed" style="[^"]*width:25\.0%', html), html
    assert "paused by you" not in html
    assert "2/8 completed" in repr(SweepFinal(sweep))  # type: ignore[arg-type]


def _enabled(live: SweepLive) -> list[str]:
    return [action for action, button in live.buttons.items() if not button.disabled]


def test_the_live_view_moves_its_tiles_and_buttons_with_the_counts() -> None:
    sweep = SweepStandIn(["pending"] * 4)
    live = SweepLive(sweep)  # type: ignore[arg-type]
    try:
        assert _enabled(live) == ["pause", "cancel"]
        sweep.move(["running", "running", "pending", "pending"])
        sweep.move(["completed", "running", "running", "pending"])  # within the throttle
        wait_until(
            lambda: _tiles(live.gallery.value) == {"completed": 1, "running": 2, "pending": 1},
            what="the tiles to catch up with the last change",
        )
        assert _chips(live.status.value) == _tiles(live.gallery.value)
        sweep.move(["completed", "running", "running", "pending"], state="paused")
        wait_until(lambda: _enabled(live) == ["resume", "cancel"], what="the buttons to follow")
    finally:
        live.box.close()


def test_the_budget_and_the_dataset_are_drawn_from_the_same_snapshot() -> None:
    sweep = SweepStandIn(
        ["completed", "running", "pending"],
        budget="12/30 s of video",
        dataset="dataset: s3://bucket/runs/pets/manifest.parquet; the players play local copies",
    )
    snap = SweepSnapshot.of(sweep)  # type: ignore[arg-type]
    assert snap.budget == "12/30 s of video" and "12/30 s of video" in status_line(snap)
    page = status_html(snap)
    assert "12/30 s of video" in page and "s3://bucket/runs/pets/manifest.parquet" in page
    bare = SweepSnapshot.of(SweepStandIn(["pending"]))  # type: ignore[arg-type]
    assert bare.budget is None and "of video" not in status_line(bare)


def test_the_command_line_draws_a_sweep_without_ipython_or_widgets() -> None:
    """The progress line the CLI prints comes from the pure summary, not the live panel."""
    modules = ["odyssey_jupyter.__main__", "odyssey_jupyter.cli.follow"]
    assert loaded_by([*modules, "odyssey_jupyter.display.sweep.summary"]) == []


def test_a_headless_run_saves_a_dated_snapshot_until_the_sweep_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from odyssey_jupyter.display.sweep import live as live_module

    sent: list[tuple[dict[str, str], bool]] = []
    monkeypatch.setattr(
        live_module, "publish", lambda bundle, _id, *, update: sent.append((bundle, update))
    )
    sweep = SweepStandIn(["running", "pending"])
    saved = live_module.SweepSaved(sweep)  # type: ignore[arg-type]
    first = sent[0][0]
    for text in (first["text/html"], first["text/plain"]):
        assert "Snapshot of " in text and "may have moved on" in text
        assert "Sweep.open(" in text and "pets" in text
    sweep.finished = True
    sweep.move(["completed", "completed"], state="done")
    saved.following.redraw()
    last = sent[-1][0]
    assert sent[-1][1] and "2/2 completed" in last["text/plain"]
    assert "Snapshot of " not in last["text/html"] + last["text/plain"]


def test_a_headless_sweep_that_ends_between_cells_is_sent_again_when_the_next_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from odyssey_jupyter.display.live import final_output
    from odyssey_jupyter.display.sweep import live as live_module

    sent: list[tuple[str, dict[str, str]]] = []
    monkeypatch.setattr(live_module, "publish", lambda *_a, **_kw: None)
    monkeypatch.setattr(
        final_output, "publish", lambda bundle, key, *, update: sent.append((key, bundle))
    )
    final_output.resend_recent_finals()  # what earlier tests left
    sent.clear()
    sweep = SweepStandIn(["running", "pending"])
    saved = live_module.SweepSaved(sweep)  # type: ignore[arg-type]
    sweep.finished = True
    sweep.move(["completed", "completed"], state="done")
    saved.following.redraw()
    final_output.resend_recent_finals()  # the next cell starts
    ((key, bundle),) = sent
    assert key == saved.display_id and "2/2 completed" in bundle["text/plain"]
    assert "Snapshot of " not in bundle["text/html"]


def test_the_live_panel_carries_its_state_for_a_notebook_reopened_without_its_kernel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import IPython.display

    from odyssey_jupyter.display.common.live_marker import LIVE_MIME

    shown: list[dict[str, Any]] = []
    monkeypatch.setattr(IPython.display, "display", lambda bundle, **_kw: shown.append(bundle))
    live = SweepLive(SweepStandIn(["running", "pending"]))  # type: ignore[arg-type]
    try:
        (bundle,) = shown
        assert "application/vnd.jupyter.widget-view+json" in bundle and LIVE_MIME in bundle
        assert "0/2 completed" in bundle["text/html"] and "Snapshot of " in bundle["text/html"]
        assert "may have moved on" in bundle["text/plain"]
    finally:
        live.box.close()


def test_the_live_panel_gives_way_to_the_final_output_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import IPython.display

    updates: list[Any] = []
    handle = SimpleNamespace(update=updates.append)
    monkeypatch.setattr(IPython.display, "display", lambda _bundle, **_kw: handle)
    sweep = SweepStandIn(["running", "running"])
    live = SweepLive(sweep)  # type: ignore[arg-type]
    sweep.finished = True
    sweep.move(["completed", "completed"], state="done")
    live.following.redraw()
    assert [type(update) for update in updates] == [SweepFinal]
    assert "2/2 completed" in repr(updates[0]) and sweep.listeners == []


def test_a_kernel_that_stops_first_leaves_the_live_panel_as_its_dated_state(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import IPython.display

    from odyssey_jupyter.display.sweep import live as live_module

    handle = SimpleNamespace(update=lambda _obj: None, display_id="sweep-1")
    monkeypatch.setattr(IPython.display, "display", lambda _bundle, **_kw: handle)
    sent: list[tuple[str, dict[str, str], bool]] = []
    monkeypatch.setattr(
        live_module, "publish", lambda bundle, key, *, update: sent.append((key, bundle, update))
    )
    live_module.freeze_all()  # the panels earlier tests left
    sent.clear()
    sweep = SweepStandIn(["completed", "running"])
    live_module.SweepLive(sweep)  # type: ignore[arg-type]
    assert live_module.freeze_all() == 1
    ((key, bundle, update),) = sent
    assert key == "sweep-1" and update and "widget-view" not in str(bundle)
    assert "1/2 completed" in bundle["text/plain"] and "Snapshot of " in bundle["text/html"]
    assert "Sweep.open(" in bundle["text/plain"] and sweep.listeners == []
    assert live_module.freeze_all() == 0

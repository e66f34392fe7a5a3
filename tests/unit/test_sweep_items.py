"""A sweep's item model, its states and its pace, without an engine."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from odyssey_jupyter.sweeps.book import ItemBook
from odyssey_jupyter.sweeps.ledger import Ledger, LedgerError, ledger_path
from odyssey_jupyter.sweeps.pace import Pace
from odyssey_jupyter.sweeps.states import IN_FLIGHT, ItemState

SCRIPT = json.dumps(
    [{"timestamp_ms": 0, "start": {"prompt": "a fox"}}, {"timestamp_ms": 2000, "end": {}}]
)


def _ledger(name: str, items: int, per_unit: int = 1) -> Ledger:
    rows = [(i, i // per_unit, json.dumps({"seed": i}), SCRIPT) for i in range(items)]
    return Ledger.create(ledger_path(name), {"name": name}, rows)


def _edited(name: str, items: int, statement: str) -> Ledger:
    """A ledger of ``items`` items changed by ``statement`` behind its back, opened to read."""
    _ledger(name, items).close()
    db = sqlite3.connect(ledger_path(name))
    db.execute(statement)
    db.commit()
    db.close()
    return Ledger(ledger_path(name), read_only=True)


def test_states_are_stored_and_printed_as_their_plain_values(sandbox: Path) -> None:
    ledger = _ledger("plain", 2)
    book = ItemBook(ledger, ledger.items())
    book.change(book.units[0], state=ItemState.SUBMITTING, key="k-0")
    ledger.close()
    db = sqlite3.connect(ledger_path("plain"))
    assert db.execute("SELECT state, typeof(state) FROM items ORDER BY idx").fetchall() == [
        ("submitting", "text"),
        ("pending", "text"),
    ]
    db.close()
    state = ItemState.SUBMITTING
    assert (str(state), f"{state}", f"{state:>11}", json.dumps({state: state})) == (
        "submitting",
        "submitting",
        " submitting",
        '{"submitting": "submitting"}',
    )
    assert state in IN_FLIGHT and "submitting" in IN_FLIGHT


def test_a_change_to_a_unit_reaches_each_of_its_items_and_the_ledger(sandbox: Path) -> None:
    ledger = _ledger("packed", 5, per_unit=2)
    book = ItemBook(ledger, ledger.items())
    assert [item.script_index for item in book] == [0, 1, 0, 1, 0]
    unit = book.units[1]
    book.change(unit, state=ItemState.SUBMITTING, key="k-1")
    book.change(unit, state=ItemState.UNKNOWN, error="its answer was lost")
    book.change(unit, state=ItemState.PENDING)  # pending again: the error goes
    book.change(unit, state=ItemState.SUBMITTING)
    for item in (*book.snapshot(), *ledger.items()):
        mine = item.index in (2, 3)
        assert item.state == (ItemState.SUBMITTING if mine else ItemState.PENDING)
        assert (item.key, item.attempts, item.error) == (
            ("k-1", 2, None) if mine else (None, 0, None)
        )
    nothing = {state.value: 0 for state in ItemState}
    assert book.counts() == {
        **nothing,
        "pending": 3,
        "submitting": 2,
        "total": 5,
    }
    ledger.close()


def test_a_copy_for_readers_does_not_change_with_the_item(sandbox: Path) -> None:
    ledger = _ledger("copies", 1)
    book = ItemBook(ledger, ledger.items())
    before = book.snapshot()
    book.store_files(0, [{"stream_id": "s"}])
    book.change(book.units[0], state=ItemState.CANCELLED)
    assert (before[0].state, before[0].files) == (ItemState.PENDING, [])
    assert (book.snapshot()[0].state, book.snapshot()[0].files) == (
        ItemState.CANCELLED,
        [{"stream_id": "s"}],
    )
    ledger.close()


def test_a_ledger_holding_a_state_no_item_has_is_refused_naming_the_item(sandbox: Path) -> None:
    ledger = _edited("edited", 3, "UPDATE items SET state = 'sent' WHERE idx = 1")
    with pytest.raises(LedgerError, match=r"item 1 has the state 'sent'"):
        ledger.items()
    ledger.close()


def test_a_concurrent_limit_halves_the_target_once_per_freed_slot_and_successes_regrow_it() -> None:
    pace = Pace(8)
    pace.concurrent_limit("at most 4 active jobs")
    pace.concurrent_limit("at most 4 active jobs")  # no slot freed since: not halved again
    assert (pace.target, pace.limit_hits, pace.last_limit_reason) == (
        4.0,
        2,
        "at most 4 active jobs",
    )
    assert pace.hold() > 0
    pace.slot_freed(completed=True, sent_at=None)
    assert pace.target == 4.25 and pace.hold_until == 0.0  # + 1/target, and the hold ends
    pace.concurrent_limit("again")
    assert pace.target == 2.125
    pace.slot_freed(completed=False, sent_at=None)
    assert pace.target == 2.125  # a failure grows nothing
    pace.learned(2)
    assert (pace.limit, pace.target) == (2, 2.0)


def test_a_wait_right_after_resolve_waits_for_the_item_it_settles(
    sandbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from odyssey_jupyter.sweeps.handle import Sweep
    from odyssey_jupyter.sweeps.scheduler import Scheduler

    ledger = _ledger("settle", 1)
    s = Sweep("settle", ledger)
    book = s._scheduler.book
    book.change(book.units[0], state=ItemState.UNKNOWN, error="lost")
    # paused with nothing in flight, its scheduler alive; the loop has not run the change yet
    monkeypatch.setattr(Scheduler, "task_alive", property(lambda self: True))
    monkeypatch.setattr(s._scheduler, "call", lambda fn: None)
    s._scheduler.settled.set()
    s.resolve(0, job_id="job-found")
    assert not s._scheduler.settled.is_set()
    ledger.close()


def test_a_ledger_holding_values_of_another_kind_is_refused_naming_the_item(
    sandbox: Path,
) -> None:
    edits = {
        "params = '[1, 2]'": "its params column is not an object",
        "script = '\"a fox\"'": "its script column is not a list",
        "params = '{'": "its params column is not JSON",
        "error = X'41'": "its error column is not a text",
        "job_id = X'41'": "its job_id column is not a text",
        "unit = 'u'": "its unit column is not a whole number",
    }
    for number, (edit, problem) in enumerate(edits.items()):
        ledger = _edited(f"kind{number}", 3, f"UPDATE items SET {edit} WHERE idx = 1")
        with pytest.raises(LedgerError, match=rf"item 1: {problem}"):
            ledger.items()
        ledger.close()


def test_a_ledger_setting_that_is_not_json_is_refused(sandbox: Path) -> None:
    ledger = _edited("setting", 1, "UPDATE meta SET value = '{' WHERE key = 'name'")
    damaged = r"is not a readable sweep ledger \(a setting is not JSON\)"
    with pytest.raises(LedgerError, match=damaged):
        ledger.meta()
    ledger.close()


def test_a_sweep_another_process_runs_is_refused_before_its_store_is_written_to(
    sandbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from odyssey_jupyter.files.private import ExclusiveLock
    from odyssey_jupyter.sweeps.errors import SweepBusyError
    from odyssey_jupyter.sweeps.handle import Sweep
    from odyssey_jupyter.sweeps.ledger import lock_path
    from odyssey_jupyter.sweeps.storage import Store

    path = ledger_path("busy")
    meta = {"name": "busy", "output": str(sandbox / "dataset"), "dataset": "busy"}
    Ledger.create(path, meta, [(0, 0, json.dumps({"seed": 0}), SCRIPT)]).close()
    written: list[str] = []
    monkeypatch.setattr(Store, "check_writable", lambda self, prefix: written.append(prefix))
    with ExclusiveLock(lock_path(path)), pytest.raises(SweepBusyError):
        Sweep.open("busy")  # the lock held as another process holds it
    assert written == []

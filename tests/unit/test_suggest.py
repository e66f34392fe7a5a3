"""The one "did you mean" helper: close names offered, far ones not."""

from __future__ import annotations

from odyssey_jupyter.text.suggest import closest, did_you_mean


def test_a_typo_of_an_action_gets_the_action() -> None:
    assert did_you_mean("interacct", ["start", "interact", "end"]) == "did you mean interact?"


def test_case_is_ignored_but_the_known_spelling_is_returned() -> None:
    assert closest("PORTRAIT", ["portrait", "landscape"]) == ["portrait"]


def test_several_close_names_are_joined_with_or() -> None:
    assert (
        did_you_mean("prompt1", ["prompt", "prompt2", "zebra"]) == "did you mean prompt or prompt2?"
    )


def test_nothing_close_gives_an_empty_hint() -> None:
    assert did_you_mean("xyz", ["start", "interact", "end"]) == ""

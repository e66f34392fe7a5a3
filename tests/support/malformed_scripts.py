"""Malformed cells and what their error must say, checked by the parser and by the magic."""

from __future__ import annotations

OK_END = "\n5s end"
MALFORMED: list[tuple[str, int | None, str]] = [
    # (cell text, expected line, a phrase the message must contain)
    ("0 start a cat" + OK_END, 1, "not a time"),
    ("3x start a cat" + OK_END, 1, "not a time"),
    ("1:75 start a cat" + OK_END, 1, "not a time"),
    ("start a cat" + OK_END, 1, "no time"),
    ("0s begin a cat" + OK_END, 1, "unknown action"),
    ("0s", 1, "no action"),
    ("0s start", 1, "no prompt"),
    ("0s start   # only a comment" + OK_END, 1, "no prompt"),
    ("0s start a cat\n1s interact" + OK_END, 2, "no prompt"),
    ("0s interact a cat" + OK_END, 1, "before any start"),
    ("0s end", 1, "before any start"),
    ("0s start a cat", 1, "never ends"),
    ("0s start a cat\n1s interact jump", 1, "never ends"),
    ("0s start a cat\n2s interact x\n1s end", 3, "backwards"),
    ("0s start a cat\n2s interact x\n2s interact y\n3s end", 3, "backwards"),
    ("0s start a cat\n1s start a dog" + OK_END, 2, "still open"),
    ("0s start a cat\n1s end bye", 2, "no prompt"),
    ("0s start a cat\n1s interact x image=cat.png" + OK_END, 2, "only a start"),
    ("0s start a cat image=missing.png" + OK_END, 1, "not found"),
    ('0s start a cat image="no such file.png"' + OK_END, 1, "not found"),
    ("0s start a cat image={nothing}" + OK_END, 1, "unknown variable"),
    ("0s start a cat image={number}" + OK_END, 1, "not a path"),
    ("0s start a {animal}" + OK_END, 1, "unknown variable"),
    ("0s start a {a b}" + OK_END, 1, "not a variable name"),
    ("0s start a { cat" + OK_END, 1, "lone"),
    ("0s start a cat\n301s end", 2, "at most 300"),
    ("0s start " + "x" * 4001 + OK_END, 1, "at most 4000"),
    ("0s start a\n1s end\n---\n---\n0s start b\n1s end", 4, "empty"),
    ("0s start a\n1s end\n---", 3, "empty"),
    ("script = [\n  {'timestamp_ms': 0, 'start': {'prompt': 'a'}},\n  oops,\n]", 3, "unknown"),
    ("script = [\n  {'timestamp_ms': 0, 'start': {'prompt': 'a'}},\n]", 2, "never ends"),
    (
        "[\n {'timestamp_ms': 0, 'start': {'prompt': ''}},\n {'timestamp_ms': 1, 'end': {}}]",
        2,
        "empty",
    ),
    ("[\n {'timestamp_ms': 0, 'begin': {'prompt': 'a'}},\n]", 2, "unknown key"),
    (
        "[\n {'timestamp_ms': 0, 'start': {'prompt': 'a'}},\n {'timestamp_ms': 1.5, 'end': {}}]",
        3,
        "whole number",
    ),
    (
        '[\n {"timestamp_ms": 0, "start": {"prompt": "a"}},\n {"timestamp_ms": 0, "end": {}}\n]',
        3,
        "backwards",
    ),
    (
        '[\n {"timestamp_ms": 0, "interact": {"prompt": "a"}},\n {"timestamp_ms": 1, "end": {}}\n]',
        2,
        "before any",
    ),
    ('{"scripts": [\n [{"timestamp_ms": 0, "start": {"prompt": "a"}}]\n]}', 2, "never ends"),
    ('{"timestamp_ms": 0}', 1, "must be a list"),
    ("script = 1 / 0", 1, "ZeroDivisionError"),
    ("script = [\n  {'timestamp_ms': 0,\n", 2, "not valid Python"),
    ("x = 1\ny = 2", 2, "one expression"),
    (
        "[\n {'timestamp_ms': 0, 'start': {'prompt': 'a', 'image': None}},\n"
        " {'timestamp_ms': 1, 'end': {}}]",
        2,
        "null",
    ),
]

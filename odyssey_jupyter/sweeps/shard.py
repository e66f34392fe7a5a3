"""Sharding a sweep over machines: shard I of N runs the items whose index modulo N is I.

Each shard is a sweep of its own on its machine (its own ledger, named
``NAME_shardIofN``) writing into the same output ``OUTPUT/NAME/`` with its own
manifest ``manifest-IIIII-of-NNNNN.parquet``; object keys come from item
indexes, so shards never write the same key. Shards that share one account are
kept under its queue cap together by each one's 429 back-off.
"""

from __future__ import annotations

import re

from odyssey_jupyter.errors import ScriptError

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` as ``(I, N)``, checked."""
    found = _SPEC.match(text)
    if not found:
        raise ScriptError(f"--shard takes I/N (such as 0/4), not {text!r}")
    return check_shard((int(found[1]), int(found[2])))


def check_shard(shard: tuple[int, int]) -> tuple[int, int]:
    """A shard is (I, N) with 0 <= I < N."""
    try:
        index, count = (int(part) for part in shard)
    except (TypeError, ValueError):
        raise ScriptError(f"shard must be (I, N), not {shard!r}") from None
    if count < 1 or not 0 <= index < count:
        raise ScriptError(f"shard {index}/{count}: I must be 0 to N-1 and N at least 1")
    return index, count


def shard_name(name: str, shard: tuple[int, int]) -> str:
    """The ledger name of one shard of the sweep ``name``."""
    return f"{name}_shard{shard[0]}of{shard[1]}"

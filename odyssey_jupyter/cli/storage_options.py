"""``--storage-options FILE.json``: the fsspec options of a store, read from a file.

They are what ``storage_options=`` is in Python: credentials, ``endpoint_url`` and
the like, never kept in a ledger. A command line is visible to every user of the
machine (``ps``), so they come from a file, read as a spec file is (a regular file,
capped, finite JSON), and no message shows what it holds: an error names the file
and the problem only.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from odyssey_jupyter.errors import OdysseyError
from odyssey_jupyter.sweeps.spec import load_spec


def _kind(value: Any) -> str:
    """What a JSON value that is no object is, in words (never the value: it may be a secret)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "a number"


def storage_options_argument(
    parser: argparse.ArgumentParser,
    flag: str = "--storage-options",
    *,
    store: str,
    replaces: str = "",
) -> None:
    """Add ``flag FILE.json``: the fsspec options of ``store`` (its words for the help)."""
    parser.add_argument(
        flag,
        type=Path,
        metavar="FILE.json",
        help=f"read fsspec options (credentials, endpoint_url, ...) for {store} from this "
        f"JSON file{replaces}; they are never kept",
    )


def read_storage_options(path: Path | None) -> dict[str, Any] | None:
    """The options in ``path`` (None when no file was given), checked to be a JSON object."""
    if path is None:
        return None
    options = load_spec(path)
    if not isinstance(options, dict):
        raise OdysseyError(
            f"{path} must hold a JSON object of fsspec options, such as "
            f'{{"endpoint_url": "https://..."}}; it holds {_kind(options)}'
        )
    return options

"""``python -m odyssey_jupyter.local serve ...``: run the local engine."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from odyssey_jupyter.local.options import parse_options

    options = parse_options(argv)
    try:
        from odyssey_jupyter.local.server import serve
    except ImportError as exc:
        from odyssey_jupyter.local.launcher import INSTALL_HINT

        sys.stderr.write(
            f"the local engine needs its extra dependencies ({exc.name} is missing): "
            f"{INSTALL_HINT}\n"
        )
        return 2
    return serve(options)


if __name__ == "__main__":
    sys.exit(main())

"""``python -m odyssey_jupyter ...``: the command line (sweeps that outgrow a notebook)."""

from __future__ import annotations

import sys

from odyssey_jupyter.cli import main

if __name__ == "__main__":
    sys.exit(main())

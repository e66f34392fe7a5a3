"""What a leaked secret looks like in text the tests scan (saved notebooks, kernel messages)."""

from __future__ import annotations

import re

from odyssey_jupyter.local.store.keys import TOKEN_PREFIX

BEARER_TOKEN = re.compile(re.escape(TOKEN_PREFIX) + r"[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
"""Any token the engine issues: its prefix, a payload and a MAC."""

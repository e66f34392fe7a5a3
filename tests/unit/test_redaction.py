"""How a URL is shown to a person: no credentials, nothing shaped like an API key."""

from __future__ import annotations

import pytest

from odyssey_jupyter.text.redaction import shown_text, shown_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://api.odyssey.ml", "https://api.odyssey.ml"),
        ("http://127.0.0.1:8080/v1/", "http://127.0.0.1:8080/v1/"),
        ("api.example.test", "api.example.test"),
        ("https://me:pw@h:1/v1?token=abc&x=1#frag", "https://***@h:1/v1?token=***&x=***#***"),
        ("https://me@h?", "https://***@h?"),
        ("http://a:b@[::1", "http://***@[::1"),  # too broken to parse: still cut by hand
        ("ody_live_Abc123def456", "***"),
        ("0123456789abcdefghijKLMNOPQRST", "***"),  # 30 key characters, no host name
        ("https://h/ody_live_Abc123def456/x", "https://h/***/x"),
        ("https://h/plain-configured", "https://h/***"),
    ],
)
def test_a_url_is_shown_without_credentials(url: str, shown: str) -> None:
    assert shown_url(url, ["plain-configured"]) == shown


def test_every_url_in_a_text_is_shown_without_credentials() -> None:
    text = "proxy URL('ftp://user:pass@10.0.0.1:3128') then https://h/?sig=x, bye"
    assert shown_text(text) == "proxy URL('ftp://***@10.0.0.1:3128') then https://h/?sig=***, bye"

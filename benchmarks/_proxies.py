"""Proxies between the code under test and the engine, built on the tests' FaultProxy.

The fault-injecting proxy of the test suite already counts and logs every
request; benchmarks reuse it to count requests (polling cost) and to hold back
answers (a slow API), instead of growing a second proxy.
"""

from __future__ import annotations

from support.faultproxy import FaultProxy


class DelayingProxy(FaultProxy):
    """Holds back the answer to matching requests (``POST /simulation-jobs`` by default)."""

    def __init__(
        self,
        upstream: str,
        *,
        seconds: float,
        method: str = "POST",
        path: str = "/simulation-jobs",
    ) -> None:
        super().__init__(upstream)
        self.hold = seconds
        self.hold_method = method
        self.hold_path = path

    def _decide(self, method: str, path: str, headers: dict[str, str]) -> str:
        action = super()._decide(method, path, headers)
        # read right after _decide, with no await in between, on the proxy's own loop
        self.delay = self.hold if (method == self.hold_method and path == self.hold_path) else 0.0
        return action


class CountingProxy(FaultProxy):
    """Forwards everything; ``requests()`` is how many it has seen so far."""

    def requests(self) -> int:
        with self._lock:
            return len(self.log)


__all__ = ["CountingProxy", "DelayingProxy", "FaultProxy"]

"""Reproducible fault injection: one seeded random stream, drawn in request order.

For a single client the same options give the same faults on the same requests; with several
concurrent clients the interleaving decides who gets which fault.
"""

from __future__ import annotations

import random
import threading

from crawlspec.sim.options import SimOptions
from crawlspec.sim.responses import ApiError, Response

GATEWAY_TIMEOUT_HTML = (b"<html><head><title>504 Gateway Time-out</title></head><body><center>"
                        b"<h1>504 Gateway Time-out</h1></center></body></html>")
NON_JSON_BODY = b"upstream connect error or disconnect/reset before headers. reset reason: overflow"


class FaultInjector:
    def __init__(self, opts: SimOptions) -> None:
        self._opts = opts
        seed = opts.seed if opts.fault_seed is None else opts.fault_seed
        self._rng = random.Random(f"crawlspec-sim/{seed}/faults")
        self._lock = threading.Lock()
        self._burst_left = 0

    def start_burst(self, requests: int) -> None:
        """The next `requests` research requests answer 500 `internal_error` (replaces any burst left)."""
        with self._lock:
            self._burst_left = max(0, int(requests))

    @property
    def burst_left(self) -> int:
        with self._lock:
            return self._burst_left

    def _take_burst(self) -> bool:
        with self._lock:
            if self._burst_left <= 0:
                return False
            self._burst_left -= 1
            return True

    def _draw(self, rate: float) -> float | None:
        """A uniform draw scaled by `rate` when the fault fires, else None (no draw when rate is 0)."""
        if rate <= 0:
            return None
        with self._lock:
            value = self._rng.random()
        return value / rate if value < rate else None

    def server_fault(self) -> Response | ApiError | None:
        """With probability fail_rate: mostly a 500 `internal_error`, sometimes a 504 with an HTML body
        or a 500 whose body is not JSON. A burst (`start_burst`) comes first."""
        if self._take_burst():
            return ApiError(500, "internal_error", "Something went wrong. Please try again later.")
        kind = self._draw(self._opts.fail_rate)
        if kind is None:
            return None
        if kind < 0.8:
            return ApiError(500, "internal_error", "Something went wrong. Please try again later.")
        if kind < 0.9:
            return Response(504, GATEWAY_TIMEOUT_HTML, content_type="text/html")
        return Response(500, NON_JSON_BODY, content_type="text/plain")

    def reject_fresh_search(self) -> bool:
        """Whether a new search's first follow-up page is told `Search Id N is invalid or expired`."""
        return self._draw(self._opts.invalid_search_id_rate) is not None

    def reject_cursor(self) -> bool:
        """Whether a follow-up page gets the transient `Invalid count or cursor` (a quarter of the rate)."""
        return self._draw(self._opts.invalid_search_id_rate / 4) is not None

    def dense_window_fault(self, matching: int) -> bool:
        """Whether a page of a video search matching `matching` videos (deleted ones included) answers
        500: chance matching / (matching + dense_fail_videos), so big windows fail more often, as the
        real API's do. Off (no draw) when `dense_fail_videos` is 0."""
        scale = self._opts.dense_fail_videos
        if scale <= 0 or matching <= 0:
            return False
        return self._draw(matching / (matching + scale)) is not None

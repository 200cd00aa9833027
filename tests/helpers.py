"""Waiting in tests: every wait polls a condition and fails at a deadline, naming what it waited for."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import httpx
from prometheus_client.parser import text_string_to_metric_families

T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout: float, what: str, interval: float = 0.1) -> T:
    """Poll `condition()` until it returns something truthy, and return that; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, f"waited {timeout:.0f} s for {what}"
        time.sleep(interval)
    return found


def metric(url: str, name: str, **labels: str) -> float:
    """A Prometheus counter's value on the server at `url` (0 before its first increment), read with
    prometheus_client's own parser."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    samples = (s for family in text_string_to_metric_families(text) for s in family.samples)
    return next((s.value for s in samples if s.name == name and s.labels == labels), 0.0)

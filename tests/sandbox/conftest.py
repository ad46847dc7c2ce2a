"""Fixtures for the HubSpot sandbox tests: extra sandbox processes and clean switches.

The shared sandbox process (``sandbox_url``, ``hubspot_host``) comes from tests/conftest.py.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import start_sandbox, stop_sandbox


@pytest.fixture
def sandbox_factory() -> Iterator:
    """Start extra sandbox processes (e.g. with ``PC_SANDBOX_DATA_DIR``); all stopped after."""
    procs: list[subprocess.Popen] = []

    def start(extra_env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
        proc, url = start_sandbox(extra_env)
        procs.append(proc)
        return proc, url

    yield start
    for proc in procs:
        if proc.poll() is None:
            stop_sandbox(proc)


@pytest.fixture(autouse=True)
def hubspot_sandbox_reset(request: pytest.FixtureRequest) -> Iterator[None]:
    """Reset switches, stats, rate-limit windows and clock around each test that uses the
    sandbox (portals and tokens stay; tests create their own)."""
    if "sandbox_url" not in request.fixturenames:
        yield
        return
    url = request.getfixturevalue("sandbox_url")
    httpx.post(f"{url}/hubspot/_sandbox/reset", json={}, timeout=10).raise_for_status()
    yield
    httpx.post(f"{url}/hubspot/_sandbox/reset", json={}, timeout=10).raise_for_status()

"""Fixtures for the HubSpot sandbox tests: the real sandbox process and clean switches.

The sandbox runs as ``uvicorn pc_sandbox.app:app`` on a free port (as in the demo), with
``PC_SANDBOX_DATA_DIR`` unset so nothing leaks between runs.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_sandbox(extra_env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """Start uvicorn on a free port and wait for /health; returns (process, base URL)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PC_SANDBOX_", "PC_HUBSPOT_"))}
    env.update(extra_env or {})
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "pc_sandbox.app:app", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        cwd=REPO, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sandbox exited early with {proc.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("sandbox did not become healthy in 30 s")


def stop_sandbox(proc: subprocess.Popen) -> None:
    """SIGTERM (so shutdown hooks run), then kill if it hangs."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def sandbox_url() -> Iterator[str]:
    """Base URL of a sandbox process shared by the session, e.g. http://127.0.0.1:PORT."""
    proc, url = start_sandbox()
    try:
        yield url
    finally:
        stop_sandbox(proc)


@pytest.fixture(scope="session")
def hubspot_host(sandbox_url: str) -> str:
    """The ``host`` to give ``hubspot.HubSpot(...)``."""
    return f"{sandbox_url}/hubspot"


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

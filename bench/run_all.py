"""Run every benchmark in bench/ and print one table: benchmark, figure, target, met?

    .venv/bin/python bench/run_all.py [--quick] [--only NAME ...] [-v]
    make bench            # every benchmark at its default size
    make bench QUICK=1    # the smaller --quick size where a script has one

Benchmarks are found, not listed: every ``bench/*.py`` whose name does not start
with ``_`` (helpers) except this runner, in name order, one after another (each
starts its own stores and servers on free ports). Each prints its figures as
``BENCH-FIGURE {json}`` lines (``bench/_figures.py``); the rest of its output goes to
``.pc/bench/<name>.log``. The table is Markdown, so it can be pasted into docs/benchmarks.md;
it carries the date, the commit and the load average before and after, since figures
from a busy machine are not comparable. ``.pc/bench/results.json`` has the same data.
Exit status 1 if a benchmark failed or printed no figures (a missed target is a
finding, not a failure).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
PREFIX = "BENCH-FIGURE "  # as bench/_figures.py prints it
QUICK_FLAG = "--quick"


@dataclass
class Run:
    script: str
    command: list[str]
    log: str
    seconds: float = 0.0
    exit_code: int | None = None
    figures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and bool(self.figures)


def discover(directory: Path, only: list[str] | None = None) -> list[Path]:
    """Every benchmark script in ``directory``; ``only`` keeps names containing one of
    the given strings."""
    scripts = sorted(p for p in directory.glob("*.py")
                     if not p.name.startswith("_") and p.name != Path(__file__).name)
    if only:
        scripts = [p for p in scripts if any(o in p.stem for o in only)]
    return scripts


def supports_quick(script: Path) -> bool:
    """Whether the script has ``--quick`` (through ``_figures.quick_flag`` or its own)."""
    text = script.read_text(encoding="utf-8")
    return "quick_flag(" in text or f'"{QUICK_FLAG}"' in text


def parse_figure(line: str) -> dict[str, Any] | None:
    if not line.startswith(PREFIX):
        return None
    try:
        record = json.loads(line[len(PREFIX):])
    except json.JSONDecodeError:
        return None
    return record if isinstance(record, dict) and "figure" in record else None


def run_one(script: Path, quick: bool, log_dir: Path, timeout: float, verbose: bool) -> Run:
    command = [sys.executable, str(script)]
    if quick and supports_quick(script):
        command.append(QUICK_FLAG)
    log_path = log_dir / f"{script.stem}.log"
    run = Run(script.stem, command, str(log_path))
    started = time.perf_counter()
    with log_path.open("w", encoding="utf-8") as log:
        # A session of its own, so a timeout stops the benchmark and every server it
        # started, and nothing else.
        proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, bufsize=1,
                                start_new_session=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        assert proc.stdout is not None
        timed_out = threading.Event()

        def stop() -> None:
            timed_out.set()
            _signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                _signal_group(proc.pid, signal.SIGKILL)

        watchdog = threading.Timer(timeout, stop)
        watchdog.start()
        try:
            for line in proc.stdout:
                log.write(line)
                if verbose:
                    print(f"  {script.stem}: {line}", end="", flush=True)
                record = parse_figure(line.rstrip("\n"))
                if record is not None:
                    run.figures.append(record)
            run.exit_code = proc.wait()
        finally:
            watchdog.cancel()
        if timed_out.is_set():
            log.write(f"\n[run_all] stopped after {timeout:.0f} s\n")
            run.exit_code = -1
    run.seconds = time.perf_counter() - started
    return run


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def _value(record: dict[str, Any]) -> str:
    value, unit = record.get("value"), record.get("unit") or ""
    if isinstance(value, bool):
        text = "yes" if value else "no"
    elif not isinstance(value, int | float):
        text = str(value)
    elif isinstance(value, int):
        text = f"{value:,}"
    elif abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip()


def rows(runs: list[Run]) -> list[tuple[str, str, str, str]]:
    out = []
    for run in runs:
        for r in run.figures:
            met = {True: "yes", False: "**no**", None: "-"}[r.get("met")]
            out.append((str(r.get("benchmark") or run.script),
                        f"{r['figure']}: {_value(r)}", r.get("target") or "-", met))
        if run.exit_code != 0:
            reason = "timed out" if run.exit_code == -1 else f"exit code {run.exit_code}"
            out.append((run.script, f"FAILED ({reason}; log {run.log})", "-", "**no**"))
        elif not run.figures:
            out.append((run.script, f"no BENCH-FIGURE lines (log {run.log})", "-", "?"))
    return out


def table(lines: list[tuple[str, str, str, str]]) -> str:
    header = ("benchmark", "figure", "target", "met?")
    widths = [max(len(r[i]) for r in [header, *lines]) for i in range(4)]

    def fmt(r: tuple[str, ...]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"

    return "\n".join([fmt(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|",
                      *(fmt(r) for r in lines)])


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="pass --quick to the benchmarks that have it")
    parser.add_argument("--only", nargs="*", help="run the scripts whose names contain these")
    parser.add_argument("--timeout", type=float, default=3600,
                        help="seconds per benchmark before it is stopped")
    parser.add_argument("--dir", type=Path, default=BENCH_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=REPO / ".pc" / "bench",
                        help="where the logs and results.json go")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="also stream each benchmark's output")
    args = parser.parse_args(argv)

    scripts = discover(args.dir, args.only)
    if not scripts:
        print("no benchmarks found", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    started_at = datetime.now(UTC)
    load_before = os.getloadavg()
    size = "quick" if args.quick else "default"
    print(f"{len(scripts)} benchmarks ({size} sizes), logs in {args.out}", flush=True)
    runs = []
    for i, script in enumerate(scripts, 1):
        print(f"[{i}/{len(scripts)}] {script.stem} ...", end=" ", flush=True)
        run = run_one(script, args.quick, args.out, args.timeout, args.verbose)
        state = "ok" if run.ok else ("FAILED" if run.exit_code else "no figures")
        print(f"{state} in {run.seconds:.0f} s, {len(run.figures)} figures", flush=True)
        runs.append(run)
    load_after = os.getloadavg()

    print()
    print(f"Benchmarks, {started_at:%Y-%m-%d %H:%M} UTC, commit {_commit()}, {size} sizes, "
          f"{os.cpu_count()} cores, load average (1/5/15 min) before "
          f"{'/'.join(f'{x:.1f}' for x in load_before)}, after "
          f"{'/'.join(f'{x:.1f}' for x in load_after)}")
    print()
    print(table(rows(runs)))
    (args.out / "results.json").write_text(json.dumps({
        "started_at": started_at.isoformat(), "commit": _commit(), "size": size,
        "cpu_count": os.cpu_count(), "load_before": load_before, "load_after": load_after,
        "runs": [asdict(r) for r in runs],
    }, indent=2), encoding="utf-8")
    return 0 if all(r.ok for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())

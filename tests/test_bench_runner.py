"""``make bench``'s runner (bench/run_all.py) over small stand-in scripts: it finds
every script by itself (helpers skipped), passes ``--quick`` only where a script has
it, collects the BENCH-FIGURE lines into one table, and reports a failing, silent or
hanging benchmark instead of stopping. The real benchmarks are not run here."""

from __future__ import annotations

import importlib.util
import json
import sys
import textwrap
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"


def load_runner():
    spec = importlib.util.spec_from_file_location("bench_run_all", BENCH / "run_all.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def write(directory: Path, name: str, body: str) -> None:
    (directory / name).write_text(textwrap.dedent(body), encoding="utf-8")


def test_runner_collects_every_script_into_one_table(tmp_path, capsys):
    scripts = tmp_path / "bench"
    scripts.mkdir()
    # A benchmark written the documented way: bench/_figures.py, with a quick size.
    write(scripts, "alpha_bench.py", f"""
        import argparse, sys
        sys.path.insert(0, {str(BENCH)!r})
        from _figures import figure, parse, quick_flag
        ap = argparse.ArgumentParser()
        ap.add_argument("--rows", type=int, default=100_000)
        quick_flag(ap, rows=10)
        args = parse(ap)
        print("human-readable report line")
        figure("alpha", "rows loaded", args.rows)
        figure("alpha", "latency p99", 12.5, "ms", below=50)
        figure("alpha", "own time p99", 5.7, "ms", below=5)
        figure("alpha", "double reservations", 0, equals=0)
    """)
    write(scripts, "beta.py", """
        import sys
        print("BENCH-FIGURE " + '{"benchmark": "beta", "figure": "argv", '
              '"value": "%s", "unit": "", "target": null, "met": null}' % sys.argv[1:])
    """)
    write(scripts, "crash_bench.py", "raise SystemExit(3)\n")
    write(scripts, "silent_bench.py", "print('no figures here')\n")
    write(scripts, "hang_bench.py", "import time\ntime.sleep(600)\n")
    write(scripts, "_helper.py", "raise SystemExit('a helper must never run')\n")

    runner = load_runner()
    code = runner.main(["--dir", str(scripts), "--out", str(tmp_path / "out"), "--quick",
                        "--timeout", "5"])
    out = capsys.readouterr().out
    assert code == 1  # crash, silence and the hang are failures; missed targets are not

    table = out[out.index("| benchmark"):]
    rows = [line for line in table.splitlines() if line.startswith("| ")][1:]
    assert "| alpha " in rows[0] and "rows loaded: 10 " in rows[0]  # --quick applied
    assert any("latency p99: 12.5 ms" in r and "< 50 ms" in r and "| yes" in r for r in rows)
    assert any("own time p99: 5.70 ms" in r and "< 5 ms" in r and "**no**" in r
               for r in rows)
    assert any("double reservations: 0" in r and "= 0" in r and "| yes" in r for r in rows)
    # beta has no --quick: it is run without it.
    assert any("argv: []" in r for r in rows)
    assert any("crash_bench" in r and "FAILED (exit code 3" in r for r in rows)
    assert any("silent_bench" in r and "no BENCH-FIGURE lines" in r for r in rows)
    assert any("hang_bench" in r and "timed out" in r for r in rows)
    assert not any("_helper" in r for r in rows)
    assert "load average" in out and "quick sizes" in out

    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["size"] == "quick"
    assert [r["script"] for r in results["runs"]] == \
        ["alpha_bench", "beta", "crash_bench", "hang_bench", "silent_bench"]
    assert "human-readable report line" in (tmp_path / "out" / "alpha_bench.log").read_text()


ADAPTED = ("chilipiper_bench", "hubspot_pull_bench", "hubspot_webhook_bench", "invoices_bench",
           "leads_list_bench", "login_bench", "marketplace_bench", "realtime_fanout_bench")


def test_the_benchmarks_speak_the_protocol():
    """The runner finds the real benchmarks, and each of these prints BENCH-FIGURE lines
    (through _figures.figure or _stack.report_split) and has a --quick size. (A new
    script without figures still gets a row saying so.)"""
    runner = load_runner()
    found = {p.stem: p for p in runner.discover(BENCH)}
    assert set(ADAPTED) <= set(found)
    for name in ADAPTED:
        text = found[name].read_text(encoding="utf-8")
        assert "figure(" in text or "report_split(" in text, name
        assert runner.supports_quick(found[name]), name

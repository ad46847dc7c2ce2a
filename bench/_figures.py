"""The machine-readable side of every benchmark: one line per figure on stdout,

    BENCH-FIGURE {"benchmark": ..., "figure": ..., "value": ..., "unit": ...,
                  "target": "< 50 ms" | null, "met": true | false | null}

printed beside the human-readable report, which ``bench/run_all.py`` (``make bench``)
collects into one table. A figure with a target says whether it met it; one without
(a context figure such as requests/s) has ``target`` and ``met`` null.

A new benchmark: name it ``bench/<something>.py`` (helpers start with ``_``), call
``figure(...)`` for each figure, and add ``quick_flag(parser)`` if a smaller run makes
sense, so ``make bench QUICK=1`` runs it fast.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

PREFIX = "BENCH-FIGURE "


_UNSET: Any = object()


def figure(benchmark: str, name: str, value: float | int | str | bool, unit: str = "", *,
           below: float | None = None, above: float | None = None,
           at_most: float | None = None, equals: Any = _UNSET) -> dict[str, Any]:
    """Print one figure (and return it). ``below``/``above``/``at_most``/``equals`` is
    its target: met when value < below, > above, <= at_most, == equals."""
    target, met = None, None
    if equals is not _UNSET:
        shown = ("yes" if equals else "no") if isinstance(equals, bool) else equals
        target, met = f"= {shown} {unit}".strip(), value == equals
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if below is not None:
            target, met = f"< {_num(below)} {unit}".strip(), value < below
        elif above is not None:
            target, met = f"> {_num(above)} {unit}".strip(), value > above
        elif at_most is not None:
            target, met = f"<= {_num(at_most)} {unit}".strip(), value <= at_most
    record = {"benchmark": benchmark, "figure": name, "value": value, "unit": unit,
              "target": target, "met": met}
    print(PREFIX + json.dumps(record), flush=True)
    return record


def _num(x: float) -> str:
    return f"{x:g}"


def quick_flag(parser: argparse.ArgumentParser, **quick_values: Any) -> None:
    """Add ``--quick``: a smaller run (the given argument values) for ``make bench
    QUICK=1``. Explicitly given arguments still win."""
    parser.add_argument("--quick", action="store_true",
                        help=f"a smaller, faster run: {quick_values}")
    parser.set_defaults(_quick_values=quick_values)


def parse(parser: argparse.ArgumentParser, argv: list[str] | None = None) -> argparse.Namespace:
    """``parser.parse_args`` that applies the ``--quick`` values to arguments left at
    their defaults."""
    args = parser.parse_args(argv)
    quick = getattr(args, "_quick_values", None)
    if getattr(args, "quick", False) and quick:
        for name, value in quick.items():
            if getattr(args, name) == parser.get_default(name):
                setattr(args, name, value)
    return args

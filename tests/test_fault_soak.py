"""The fault soak, short and seeded (``bench/fault_soak.py`` is the long one, with the
Dagster daemon and ``--long``): while webhooks, reservations, purchases paid through
the Stripe sandbox and live Socket.IO clients keep going, the worker is SIGKILLed in
the middle of applying, the API is SIGKILLed, a backstop Dagster run is SIGKILLed in
the middle of applying, Redis is restarted empty and the database (nx-27017 on its
file) is SIGKILLed and restarted. Afterwards every invariant holds; a violation names
the invariant and the ids."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import fault_soak  # noqa: E402

FAULTS = ("worker-mid-apply", "api", "run-mid-apply", "redis", "mongo")


def test_killed_processes_and_restarted_stores_lose_nothing_and_apply_nothing_twice():
    violations, figures = fault_soak.soak(seed=11, partners=2, gap=1.0, faults=FAULTS,
                                          buyers=2, clients=2, leads=20)
    assert figures["faults"] == list(FAULTS)
    assert "run-mid-apply: killed while applying" in figures["notes"]
    # the load really ran through the faults, and the clients really were cut off
    assert figures["acknowledged"] >= 10 and figures["paid"] >= 1
    assert figures["reconnects"] >= 2  # each client, after the API's SIGKILL
    assert not violations, "\n".join(str(v) for v in violations)


def test_a_violation_names_its_invariant_and_ids():
    line = fault_soak.Violation("no-double-sale", ["lead-1 (p1, p2)", "lead-2 (p3, p4)"])
    assert str(line) == "no-double-sale: 2 (lead-1 (p1, p2), lead-2 (p3, p4))"

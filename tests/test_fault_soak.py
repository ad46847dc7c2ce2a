"""The fault soak, short and seeded (``bench/fault_soak.py`` is the long one): while
webhooks keep arriving, the worker is SIGKILLed, the API is SIGKILLed, the worker is
SIGKILLed again in the middle of applying; afterwards every acknowledged webhook is
applied exactly once, every lead shows HubSpot's current name and no sync task is
left running. A violation names the invariant and the ids."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import fault_soak  # noqa: E402


def test_killed_worker_and_api_lose_no_acknowledged_webhook():
    violations, figures = fault_soak.soak(seed=11, partners=2, gap=3.0)
    assert figures["faults"] == ["worker", "api", "worker-mid-apply"]
    assert figures["acknowledged"] >= 10  # the load really ran through the faults
    assert not violations, "\n".join(str(v) for v in violations)


def test_a_violation_names_its_invariant_and_ids():
    line = fault_soak.Violation("webhook-applied", ["e1", "e2"])
    assert str(line) == "webhook-applied: 2 (e1, e2)"

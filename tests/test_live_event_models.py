"""The live events' contract (pc_core/models/live_events.py): the payloads are built
through their models, the wire carries exactly the model's fields, and the JSON
Schema the web client's event types are generated from
(web/src/api/live-events.json → live-events.d.ts) matches the models."""

from __future__ import annotations

import ast
import difflib
import importlib.util
import json
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from pc_core import events
from pc_core.models.live_events import (
    LIVE_EVENTS,
    LeadSold,
    LiveEvent,
    StageUpdated,
    live_events_schema,
)

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = ROOT / "web" / "src" / "api" / "live-events.json"
DUMP_SCRIPT = ROOT / "web" / "scripts" / "dump_openapi.py"
HOW = ("regenerate with `.venv/bin/python web/scripts/dump_openapi.py && "
       "(cd web && npm run gen:events)` and commit web/src/api/live-events.json and "
       "live-events.d.ts")


def _render() -> str:
    spec = importlib.util.spec_from_file_location("dump_openapi", DUMP_SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.render_live_events()


@pytest.mark.skipif(not SNAPSHOT.exists(), reason="no web client in this checkout")
def test_live_events_snapshot_matches_the_models():
    current, stored = _render(), SNAPSHOT.read_text(encoding="utf-8")
    if current != stored:
        diff = "".join(list(difflib.unified_diff(
            stored.splitlines(keepends=True), current.splitlines(keepends=True),
            "web/src/api/live-events.json (committed)", "the models (now)", n=2))[:60])
        pytest.fail(f"A live event changed and the web client's snapshot did not: {HOW}.\n{diff}")


def test_the_schema_names_every_event_once_with_its_payload():
    schema = live_events_schema()
    names = [m.name for m in LIVE_EVENTS]
    assert len(set(names)) == len(names)
    assert set(schema["properties"]) == set(schema["required"]) == set(names)
    for model in LIVE_EVENTS:
        definition = schema["$defs"][model.__name__]
        assert definition["additionalProperties"] is False
        assert f"Rooms: {model.audience}" in definition["description"]
    assert "from" in schema["$defs"]["StageUpdated"]["properties"]  # the wire name


def test_a_payload_that_drifts_from_its_model_fails_where_it_is_built():
    with pytest.raises(ValidationError):
        LeadSold(lead_id="L", seller_partner_id="s", buyer_partner_id="b", buyerId="b")
    with pytest.raises(ValidationError):
        StageUpdated(lead_id="L", partner_id="p", from_="new", to="not-a-stage")
    with pytest.raises(ValidationError):
        LeadSold(lead_id="L", seller_partner_id="s")  # a field left out


def test_each_event_names_the_rooms_it_goes_to():
    sold = LeadSold(lead_id="L", seller_partner_id="s", buyer_partner_id="b")
    assert sold.rooms() == ["marketplace", "lead:L", "partner:s", "partner:b"]
    moved = StageUpdated(lead_id="L", partner_id="p", from_=None, to="won")
    assert moved.rooms() == ["lead:L", "partner:p"]
    assert moved.payload() == {"lead_id": "L", "partner_id": "p", "from": None, "to": "won"}
    unrouted = [m.__name__ for m in LIVE_EVENTS if m.rooms is LiveEvent.rooms]
    assert unrouted == []  # every event says where it goes


def test_lead_sold_carries_exactly_its_documented_fields(settings, redis_conn):
    """No undocumented ``buyerId``: the buyer is ``buyer_partner_id``."""
    pubsub = redis_conn.pubsub()
    pubsub.subscribe(events.CHANNEL)
    pubsub.get_message(timeout=1)
    events.emit(settings, LeadSold(lead_id="L-sold", seller_partner_id="seller-p",
                                   buyer_partner_id="buyer-p"))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.2)
        if message and message["type"] == "message":
            body = json.loads(message["data"])
            if body["event"] == events.LEAD_SOLD:
                assert body["data"][0] == {"lead_id": "L-sold", "seller_partner_id": "seller-p",
                                           "buyer_partner_id": "buyer-p"}
                pubsub.close()
                return
    pytest.fail("lead-sold was not published")


def _publish_callers(package: str) -> list[str]:
    """Modules of ``package`` that call the raw transport ``events.publish``."""
    found = []
    for path in (ROOT / package).rglob("*.py"):
        if path == ROOT / "pc_core" / "events.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            raw = (isinstance(node, ast.Attribute) and node.attr == "publish"
                   and isinstance(node.value, ast.Name) and node.value.id == "events")
            imported = (isinstance(node, ast.ImportFrom) and node.module == "pc_core.events"
                        and any(a.name == "publish" for a in node.names))
            if raw or imported:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_the_platform_sends_events_through_their_models_only():
    """``events.publish`` (any dict) is for the benchmarks and tests that probe the
    transport; the platform's own code emits models."""
    assert [c for p in ("pc_core", "pc_api", "pc_pipelines", "pc_sandbox")
            for c in _publish_callers(p)] == []

"""Answers are built from the entity models in pc_core/models: what the services
return is what the API sends, validated once, and the shapes the OpenAPI documents."""

from __future__ import annotations

from pc_core.sync import tasks as sync_tasks
from pc_core.timeutil import utcnow


def test_sync_history_shows_a_run_with_decided_conflicts(client, world, db):
    """A task's ``details`` holds per-type counts and the total of conflicts (a number):
    the history must still answer (it used to fail validation on that total)."""
    task = sync_tasks.create_task(db, world.partner_a, trigger="manual", status="running")
    sync_tasks.add_conflicts(db, task["_id"], [
        {"lead_id": "l1", "field": "amount_cents", "winner": "platform",
         "platform_value": 100, "hubspot_value": 90, "platform_at": utcnow(),
         "hubspot_at": utcnow()},
    ])
    r = client.get("/v1/integrations/hubspot/sync-tasks", headers=world.admin_a.headers)
    assert r.status_code == 200, r.text
    item = r.json()["items"][0]
    assert item["details"]["conflicts"] == 1
    assert item["conflicts"][0]["winner"] == "platform"
    assert item["conflicts"][0]["platform_at"].endswith("Z")
    # Another partner's history does not show it.
    other = client.get("/v1/integrations/hubspot/sync-tasks", headers=world.admin_b.headers)
    assert other.status_code == 200 and other.json()["items"] == []

"""The Dagster side of HubSpot sync: definitions load, sensors keep partitions and
launch Sync Now requests, the schedule covers every partner, and a materialisation
of one partner's partition fills the lead table from a sandbox portal."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
from dagster import (
    Definitions,
    build_schedule_context,
    build_sensor_context,
    materialize,
)

from pc_core import collections as c
from pc_core import events
from pc_core.access import Principal, Role
from pc_core.security.encryption import encrypt_secret
from pc_core.sync import tasks as sync_tasks
from pc_core.timeutil import utcnow
from pc_pipelines.definitions import defs
from pc_pipelines.hubspot_sync.assets import (
    hubspot_contacts,
    hubspot_deals,
    hubspot_pipelines,
    leads,
)
from pc_pipelines.hubspot_sync.schedules import hubspot_sync_schedule
from pc_pipelines.hubspot_sync.sensors import hubspot_sync_requests_sensor, partners_sensor
from pc_pipelines.lib.partitions import partners_partitions


def _connect(db, settings, hubspot_host, partner_id, deals=40, contacts=30):
    """A partner connected to a fresh sandbox portal (the OAuth flow has its own tests)."""
    httpx.put(f"{hubspot_host}/_sandbox/config", json={"rate_limits": False})
    portal = httpx.post(f"{hubspot_host}/_sandbox/portals",
                        json={"contacts": contacts, "deals": deals, "pipelines": 2, "seed": 3})
    portal_id = str(portal.json()["id"])
    tokens = httpx.post(f"{hubspot_host}/_sandbox/portals/{portal_id}/tokens").json()
    key = settings.token_encryption_key
    partner = db[c.PARTNERS].find_one({"_id": partner_id})
    hub = {"portal_id": portal_id, "scopes": [], "last_synced_at": None,
           "access_token": encrypt_secret(key, tokens["access_token"]),
           "refresh_token": encrypt_secret(key, tokens["refresh_token"]),
           "expires_at": utcnow() + timedelta(seconds=tokens["expires_in"])}
    db[c.PARTNERS].replace_one({"_id": partner_id}, {**partner, "hubspot": hub})
    return portal_id


def test_definitions_load():
    Definitions.validate_loadable(defs)
    repo = defs.get_repository_def()
    assert {"hubspot_pipelines", "hubspot_contacts", "hubspot_deals", "leads"} <= {
        key.to_user_string() for key in repo.asset_graph.get_all_asset_keys()}
    assert repo.has_schedule_def("hubspot_sync_schedule")
    for name in ("partners_sensor", "hubspot_sync_requests_sensor"):
        assert repo.has_sensor_def(name)


def test_partitions_sensor_adds_connected_and_drops_disconnected(
    db, settings, hubspot_host, world, instance, resources
):
    _connect(db, settings, hubspot_host, world.partner_a)
    instance.add_dynamic_partitions(partners_partitions.name, ["gone-partner"])
    ctx = build_sensor_context(instance=instance, resources=resources)
    result = partners_sensor(ctx)
    added = [r for r in result.dynamic_partitions_requests if hasattr(r, "partition_keys")
             and type(r).__name__ == "AddDynamicPartitionsRequest"]
    removed = [r for r in result.dynamic_partitions_requests
               if type(r).__name__ == "DeleteDynamicPartitionsRequest"]
    assert added[0].partition_keys == [world.partner_a]
    assert removed[0].partition_keys == ["gone-partner"]
    assert [r.partition_key for r in result.run_requests] == [world.partner_a]


def test_sync_now_is_launched_once_by_the_sensor(
    client, db, settings, hubspot_host, world, instance, resources
):
    r = client.post("/v1/integrations/hubspot/sync", headers=world.admin_a.headers)
    assert r.status_code == 409  # not connected yet
    _connect(db, settings, hubspot_host, world.partner_a)
    assert client.post("/v1/integrations/hubspot/sync",
                       headers=world.user_a.headers).status_code == 403
    first = client.post("/v1/integrations/hubspot/sync", headers=world.admin_a.headers)
    assert first.status_code == 202
    again = client.post("/v1/integrations/hubspot/sync", headers=world.admin_a.headers)
    assert again.json()["sync_task_id"] == first.json()["sync_task_id"]
    ctx = build_sensor_context(instance=instance, resources=resources)
    result = hubspot_sync_requests_sensor(ctx)
    assert [(r.partition_key, r.run_key) for r in result.run_requests] == [
        (world.partner_a, first.json()["sync_task_id"])]


def test_schedule_requests_every_partner(instance, resources):
    instance.add_dynamic_partitions(partners_partitions.name, ["p1", "p2"])
    ctx = build_schedule_context(instance=instance, scheduled_execution_time=utcnow(),
                                 resources=resources)
    requests = list(hubspot_sync_schedule(ctx))
    assert sorted(r.partition_key for r in requests) == ["p1", "p2"]
    assert len({r.run_key for r in requests}) == 2


def test_materialising_a_partition_fills_the_lead_table(
    client, db, settings, hubspot_host, world, instance, resources, redis_conn
):
    portal = _connect(db, settings, hubspot_host, world.partner_a, deals=60, contacts=40)
    instance.add_dynamic_partitions(partners_partitions.name, [world.partner_a])
    assets = [hubspot_pipelines, hubspot_contacts, hubspot_deals, leads]
    pubsub = redis_conn.pubsub()
    pubsub.subscribe(events.CHANNEL)
    result = materialize(assets, partition_key=world.partner_a, instance=instance,
                         resources=resources)
    assert result.success
    published = []
    while (message := pubsub.get_message(timeout=0.5)) is not None:
        if message["type"] == "message":
            published.append(json.loads(message["data"]))
    listed = [lead["_id"] for lead in db[c.LEADS].find({"partner_id": world.partner_a,
                                                        "status": "listed"})]
    assert listed  # the generated portal has "Not a fit" deals: they are listed
    assert sorted(m["data"][0]["lead_id"] for m in published
                  if m["event"] == "lead-listed") == sorted(listed)
    assert all(m["room"] == ["marketplace"] for m in published if m["event"] == "lead-listed")
    deals = httpx.get(f"{hubspot_host}/_sandbox/portals/{portal}").json()["deals"]
    got = list(db[c.LEADS].find({"partner_id": world.partner_a}))
    assert len(got) == deals == 60
    assert all(lead["stage"] for lead in got)
    # The run's sync task records what happened, with the Dagster run id.
    actor = Principal(world.admin_a.id, Role.ADMIN, world.partner_a)
    tasks = sync_tasks.list_tasks(db, actor, None, 10, None).items
    assert tasks[0].status == "succeeded"
    assert tasks[0].dagster_run_id == result.run_id
    assert tasks[0].details["deals"]["created"] == 60
    assert tasks[0].counts["created"] == 60  # leads created
    assert tasks[0].counts["fetched"] == 100  # 60 deals + 40 contacts
    history = client.get("/v1/integrations/hubspot/sync-tasks", headers=world.user_a.headers)
    assert history.json()["items"][0]["counts"]["fetched"] >= 100
    status = client.get("/v1/integrations/hubspot/status", headers=world.user_a.headers).json()
    assert status["last_synced_at"] is not None
    # A second run changes nothing.
    again = materialize(assets, partition_key=world.partner_a, instance=instance,
                        resources=resources)
    assert again.success
    assert len(list(db[c.LEADS].find({"partner_id": world.partner_a}))) == 60

    def mode(run, node):
        return run.asset_materializations_for_node(node)[0].metadata["mode"].value

    assert mode(again, "hubspot_deals") == "incremental"
    # Re-pulling one partner (what a backfill does) is a full pull, still no duplicates.
    full = materialize(assets, partition_key=world.partner_a, instance=instance,
                       resources=resources, tags={"pc/full": "true"})
    assert full.success and mode(full, "hubspot_deals") == "full"
    assert len(list(db[c.LEADS].find({"partner_id": world.partner_a}))) == 60

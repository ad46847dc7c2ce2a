"""A dead HubSpot refresh token (the app uninstalled in the portal): the connection is
marked ``needs_reconnect``, its syncs stop without a retry loop, the partner's admins
and the operator are emailed once, the API and client show it, and reconnecting
resumes the sync from the saved cursor."""

from __future__ import annotations

import httpx
import pytest
from dagster import build_schedule_context
from fastapi.testclient import TestClient

from pc_api.main import create_app
from pc_core import collections as c
from pc_core.hubspot.connection import sync_health
from pc_core.hubspot.connection.oauth import PartnerTokens, connected_partner_ids
from pc_core.hubspot.connection.reconnect import RefreshTokenDead, is_dead_refresh_answer
from pc_core.hubspot.pull.cursors import load_cursor
from pc_core.hubspot.pull.engine import PullFailed, pull_objects
from pc_core.hubspot.sync_back.partner_runs import webhook_pending
from pc_core.timeutil import utcnow
from pc_pipelines.hubspot_sync.schedules import hubspot_sync_schedule
from pc_pipelines.lib.partitions import partners_partitions
from tests.hubspot_helpers import Portal, connect, sync


@pytest.fixture
def hs_settings(settings, hubspot_host, sandbox_url):
    return settings.model_copy(update={
        "hubspot_base_url": hubspot_host,
        "hubspot_authorize_url": f"{hubspot_host}/oauth/authorize",
        "mailgun_base_url": sandbox_url + "/mailgun",
        "public_url": "http://testserver",
        "app_url": "http://app.example.com",
    })


def _token_calls(hubspot_host: str, portal_id: str) -> int:
    stats = httpx.get(f"{hubspot_host}/_sandbox/stats").json()
    return stats["by_portal"].get(portal_id, {}).get("oauth", 0)


def _inbox(mailbox: httpx.Client, to: str) -> list[dict]:
    return mailbox.get("/messages", params={"to": to}).json()["items"]


def test_dead_refresh_answers_are_told_apart_from_other_failures():
    assert is_dead_refresh_answer(400, b'{"status":"BAD_REFRESH_TOKEN","message":"x"}')
    assert is_dead_refresh_answer(400, b'{"error":"invalid_grant"}')
    # Our own misconfiguration or HubSpot being down is not the partner's to fix.
    assert not is_dead_refresh_answer(400, b'{"status":"BAD_CLIENT_SECRET"}')
    assert not is_dead_refresh_answer(502, b'{"status":"BAD_REFRESH_TOKEN"}')
    assert not is_dead_refresh_answer(400, b"<html>bad gateway</html>")


def test_uninstalled_app_stops_syncs_tells_everyone_once_and_reconnect_resumes(
    db, hs_settings, hubspot_host, world, instance, resources, mailbox, redis_conn
):
    partner = world.partner_a
    portal_id = connect(db, hs_settings, partner, deals=12, contacts=8)
    sync(db, hs_settings, partner)
    cursor_before = load_cursor(db, partner, "deals")
    assert cursor_before is not None and cursor_before.phase != "full"
    deal_id = sorted(d["hubspot_id"] for d in db[c.HUBSPOT_DEALS].find({"partner_id": partner}))[0]

    # The partner uninstalls the app in HubSpot; a deal changes meanwhile.
    assert httpx.post(f"{hubspot_host}/_sandbox/portals/{portal_id}/uninstall").json() == {
        "revoked": 1}
    Portal(hs_settings, portal_id).update_deal(deal_id, dealname="Renamed while disconnected")

    with pytest.raises(PullFailed) as failed:
        pull_objects(db, hs_settings, partner, "deals", PartnerTokens(db, hs_settings, partner))
    assert isinstance(failed.value.__cause__, RefreshTokenDead)
    hub = db[c.PARTNERS].find_one({"_id": partner})["hubspot"]
    assert hub["sync_status"] == "needs_reconnect"

    # No retry loop: the next attempt does not even ask HubSpot for a token.
    calls = _token_calls(hubspot_host, portal_id)
    with pytest.raises(PullFailed):
        pull_objects(db, hs_settings, partner, "deals", PartnerTokens(db, hs_settings, partner))
    with pytest.raises(RefreshTokenDead):
        PartnerTokens(db, hs_settings, partner).refresh()
    assert _token_calls(hubspot_host, portal_id) == calls
    # A later failed run does not hide the reconnect the partner must do.
    sync_health.mark_sync_failed(db, partner, job="hubspot_sync_job", run_id="r1", error="x")
    assert db[c.PARTNERS].find_one({"_id": partner})["hubspot"]["sync_status"] == \
        "needs_reconnect"

    # Schedules, sensors and fan-outs skip it; its webhook events wait in the inbox.
    assert partner not in connected_partner_ids(db)
    db[c.WEBHOOK_EVENTS].insert_one({"_id": "e1", "partner_id": partner, "seq": 1,
                                     "processed": False, "received_at": utcnow()})
    assert partner not in webhook_pending(db)
    instance.add_dynamic_partitions(partners_partitions.name, [partner, world.partner_b])
    ctx = build_schedule_context(instance=instance, scheduled_execution_time=utcnow(),
                                 resources=resources)
    assert [r.partition_key for r in hubspot_sync_schedule(ctx)] == [world.partner_b]

    # The partner's admins and the operator were told, once.
    assert len(_inbox(mailbox, world.admin_a.email)) == 1
    assert "Reconnect HubSpot" in _inbox(mailbox, world.admin_a.email)[0]["subject"]
    assert _inbox(mailbox, world.user_a.email) == []
    operator_mail = _inbox(mailbox, world.owner.email)
    assert len(operator_mail) == 1 and "needs a reconnect" in operator_mail[0]["subject"]

    with TestClient(create_app(hs_settings)) as api:
        status = api.get("/v1/integrations/hubspot/status", headers=world.admin_a.headers)
        assert status.status_code == 200
        assert status.json()["needs_reconnect"] is True
        assert status.json()["sync_status"] == "needs_reconnect"
        # "Sync Now" says what to do instead of queueing a run that cannot work.
        r = api.post("/v1/integrations/hubspot/sync", headers=world.admin_a.headers)
        assert r.status_code == 409 and "reconnect" in r.json()["detail"].lower()

        # Reconnecting through HubSpot's consent clears the mark and queues a resume.
        url = api.get("/v1/integrations/hubspot/authorize",
                      headers=world.admin_a.headers).json()["url"]
        consent = httpx.get(f"{url}&portal_id={portal_id}", follow_redirects=False)
        back = httpx.URL(consent.headers["location"])
        r = api.get("/v1/integrations/hubspot/callback", params=dict(back.params),
                    follow_redirects=False)
        assert r.status_code == 302 and r.headers["location"].endswith("success=true")
        status = api.get("/v1/integrations/hubspot/status", headers=world.admin_a.headers)
        assert status.json()["needs_reconnect"] is False
        assert status.json()["sync_status"] == "ok"
    assert db[c.SYNC_TASKS].find_one({"partner_id": partner, "trigger": "reconnect",
                                      "status": "queued"}) is not None
    assert partner in connected_partner_ids(db) and partner in webhook_pending(db)

    # The resumed pull is incremental from the saved cursor and brings the change.
    stats = pull_objects(db, hs_settings, partner, "deals", PartnerTokens(db, hs_settings, partner))
    assert stats.mode == "incremental"
    assert stats.fetched < 12
    assert db[c.HUBSPOT_DEALS].find_one({"partner_id": partner, "hubspot_id": deal_id}) \
        ["properties"]["dealname"] == "Renamed while disconnected"

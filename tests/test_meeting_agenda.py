"""A partner's meetings list (issue 21), fed by the real ChiliPiper webhook: upcoming
soonest first, past, no-shows (time passed, lead still at "meeting scheduled") and
cancelled; the lead answer carries the meeting; another partner sees none of them."""

from __future__ import annotations

import pytest

from pc_core.settings import Settings
from tests.conftest import market_settings
from tests.test_meetings import configure, payload, send

AGENDA = "/v1/meetings/agenda"


@pytest.fixture
def settings(stores, sandbox_url) -> Settings:
    return market_settings(stores, sandbox_url)


def _ids(client, account, **params) -> list[str]:
    r = client.get(AGENDA, params=params, headers=account.headers)
    assert r.status_code == 200, r.text
    return [i["id"] for i in r.json()["items"]]


def test_meetings_by_view(client, world, settings, db):
    configure(client, world, world.partner_a)
    later = send(client, settings, payload("m-later", start="2031-03-01T10:00:00Z")).json()
    soon = send(client, settings, payload("m-soon", start="2030-02-01T10:00:00Z")).json()
    missed = send(client, settings, payload("m-missed", start="2024-05-01T10:00:00Z")).json()
    held = send(client, settings, payload("m-held", start="2024-04-01T10:00:00Z")).json()
    gone = send(client, settings, payload("m-gone", start="2030-03-01T10:00:00Z")).json()
    send(client, settings, payload("m-gone", event="meeting.canceled",
                                   start="2030-03-01T10:00:00Z"))
    # The held meeting was recorded as held on its lead.
    r = client.patch(f"/v1/leads/{held['lead_id']}", json={"stage": "meeting_held"},
                     headers=world.admin_a.headers)
    assert r.status_code == 200, r.text

    a = world.user_a
    assert _ids(client, a) == [soon["lead_id"], later["lead_id"]]
    assert _ids(client, a, view="past") == [missed["lead_id"], held["lead_id"]]
    assert _ids(client, a, view="no_show") == [missed["lead_id"]]
    assert _ids(client, a, view="cancelled") == [gone["lead_id"]]
    assert _ids(client, a, meeting_type="demo") == []

    one = client.get(AGENDA, headers=a.headers).json()["items"][0]
    assert one["scheduled_date"].startswith("2030-02-01T10:00:00")
    assert (one["meeting_status"], one["meeting_type"]) == ("scheduled", "intro")

    # Another agency sees none of them, and cannot ask for partner A's.
    assert _ids(client, world.user_b) == []
    r = client.get(AGENDA, params={"partner_id": world.partner_a}, headers=world.user_b.headers)
    assert r.status_code == 404
    # The owner sees them across partners, with whose they are.
    owner = client.get(AGENDA, headers=world.owner.headers).json()["items"]
    assert [i["id"] for i in owner] == [soon["lead_id"], later["lead_id"]]
    assert owner[0]["seller_name"]
    assert client.get(AGENDA, params={"view": "someday"},
                      headers=a.headers).status_code == 422

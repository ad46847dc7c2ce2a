"""A failed sync's error becomes words and one action (issue 21), on the HubSpot
status answer the page reads."""

from __future__ import annotations

import pytest

from pc_core import collections as c
from pc_core.hubspot.connection.failure_advice import advise
from pc_core.hubspot.connection.sync_health import mark_sync_failed


@pytest.mark.parametrize(("error", "action"), [
    ("HTTP 401: Authentication credentials not found", "reconnect"),
    ("token refresh failed: invalid_grant", "reconnect"),
    ("403 MISSING_SCOPES crm.objects.deals.read", "reconnect"),
    ("HTTP 429 Too Many Requests: secondly limit", "wait"),
    ("3 deals in unmapped stages: map the stages first", "map_stages"),
    ("HTTP 502 Bad Gateway", "retry"),
    ("KeyError: 'properties'", "retry"),
])
def test_errors_map_to_one_action(error, action):
    advice = advise(error)
    assert advice is not None and advice.action == action
    assert advice.explanation and advice.what_to_do
    assert error not in advice.explanation  # words, not the raw message


def test_status_answer_carries_the_advice(client, world, db):
    db[c.PARTNERS].update_one({"_id": world.partner_a},
                              {"$set": {"hubspot": {"portal_id": "123", "scopes": []}}})
    url = "/v1/integrations/hubspot/status"
    assert client.get(url, headers=world.admin_a.headers).json()["sync_failure"] is None
    assert mark_sync_failed(db, world.partner_a, job="hubspot_sync", run_id="r1",
                            error="HTTP 429 Too Many Requests")
    status = client.get(url, headers=world.admin_a.headers).json()
    assert status["sync_status"] == "failed"
    assert status["sync_failure"]["action"] == "wait"
    assert "limit" in status["sync_failure"]["explanation"]

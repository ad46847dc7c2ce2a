"""HubSpot's rate limits per portal: the daily budget is tracked from the answers'
headers, a pull stops at the reserve left to the portal's other apps and resumes
after the reset, and a 429 storm mid-pull resumes from the last saved page with every
record stored exactly once."""

from __future__ import annotations

import httpx
import pytest
from urllib3.util.retry import Retry

from pc_core import collections as c
from pc_core.hubspot.connection import quota
from pc_core.hubspot.connection.oauth import PartnerTokens
from pc_core.hubspot.connection.transport import CallPolicy
from pc_core.hubspot.pull.cursors import load_cursor
from pc_core.hubspot.pull.engine import PullFailed, PullOptions, pull_objects
from tests.hubspot_helpers import connect

CONTACTS = 450  # five pages of 100


@pytest.fixture
def hs_settings(settings, hubspot_host):
    return settings.model_copy(update={
        "hubspot_base_url": hubspot_host, "hubspot_daily_reserve_fraction": 0.25,
        "hubspot_daily_slowdown_pause_s": 0.01})


QUICK = Retry(total=4, status_forcelist=(429,), backoff_factor=0, allowed_methods=None,
              respect_retry_after_header=False, raise_on_status=False)


def _quota(host: str, portal_id: str, **body) -> dict:
    r = httpx.post(f"{host}/_sandbox/portals/{portal_id}/quota", json=body)
    r.raise_for_status()
    return r.json()


def _portal_ids(host: str, portal_id: str) -> set[str]:
    """Every live contact id of the portal, through the portal's own token."""
    token = httpx.post(f"{host}/_sandbox/portals/{portal_id}/tokens").json()["access_token"]
    ids, after = set(), None
    while True:
        r = httpx.get(f"{host}/crm/v3/objects/contacts",
                      params={"limit": 100, **({"after": after} if after else {})},
                      headers={"Authorization": f"Bearer {token}"})
        r.raise_for_status()
        body = r.json()
        ids |= {item["id"] for item in body["results"]}
        after = (body.get("paging") or {}).get("next", {}).get("after")
        if not after:
            return ids


def _stored(db, partner_id: str) -> list[str]:
    return [d["hubspot_id"] for d in db[c.HUBSPOT_CONTACTS].find({"partner_id": partner_id})]


def test_burst_and_daily_figures_pace_calls_before_the_limits():
    pauses: list[float] = []
    tracker = quota.QuotaTracker(0.2, 0.5, sleep=pauses.append)
    tracker.observe({"X-HubSpot-RateLimit-Max": "110", "X-HubSpot-RateLimit-Remaining": "80",
                     "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
                     "X-HubSpot-RateLimit-Daily": "1000",
                     "X-HubSpot-RateLimit-Daily-Remaining": "900"})
    tracker.before_call()
    assert pauses == []  # plenty left: full speed
    tracker.observe({"X-HubSpot-RateLimit-Remaining": "5"})
    tracker.before_call()
    assert pauses == [pytest.approx(10 / 110)]  # burst nearly spent: one call per slot
    tracker.observe({"X-HubSpot-RateLimit-Remaining": "100",
                     "X-HubSpot-RateLimit-Daily-Remaining": "350"})
    tracker.before_call()
    assert pauses[-1] == 0.5  # within twice the reserve (2 x 200): slowed down
    tracker.observe({"X-HubSpot-RateLimit-Daily-Remaining": "200"})
    with pytest.raises(quota.DailyReserveReached, match="other apps"):
        tracker.before_call()


def test_pull_stops_at_the_daily_reserve_and_resumes_after_the_reset(
    db, hs_settings, hubspot_host, world
):
    partner = world.partner_a
    portal_id = connect(db, hs_settings, partner, deals=5, contacts=CONTACTS)
    # A small day: 6 requests, 2 of them (25 %, rounded up) kept for the other apps.
    _quota(hubspot_host, portal_id, daily_limit=6, used_today=0)
    tokens = PartnerTokens(db, hs_settings, partner)
    stats = pull_objects(db, hs_settings, partner, "contacts", tokens)
    assert stats.quota_stop and "other apps" in stats.quota_stop
    left = _quota(hubspot_host, portal_id)
    assert left["daily_remaining"] >= 2 and left["daily_refused"] == 0  # reserve untouched
    first = _stored(db, partner)
    assert 0 < len(first) < CONTACTS
    tracker = quota.tracker_for(hs_settings, partner)
    assert tracker.snapshot.daily_max == 6

    # The next day: the pull carries on from its cursor, reads nothing twice. (Figures
    # this near the reserve are asked again after ``hubspot_daily_recheck_s``: now.)
    _quota(hubspot_host, portal_id, daily_limit=10_000, used_today=0)
    tracker.recheck_s = 0
    again = pull_objects(db, hs_settings, partner, "contacts", tokens)
    assert again.quota_stop is None
    stored = _stored(db, partner)
    assert len(stored) == len(set(stored)) == CONTACTS
    assert set(stored) == _portal_ids(hubspot_host, portal_id)
    assert again.fetched == CONTACTS - len(first)
    assert tracker.snapshot.daily_max == 10_000


def test_daily_429_is_not_retried(db, hs_settings, hubspot_host, world):
    """Another app spent the whole day: HubSpot's DAILY 429 stops the pull at once."""
    partner = world.partner_b
    portal_id = connect(db, hs_settings, partner, deals=5, contacts=50)
    _quota(hubspot_host, portal_id, daily_limit=0, used_today=0)
    tokens = PartnerTokens(db, hs_settings, partner)
    opts = PullOptions(retry=QUICK)
    stats = pull_objects(db, hs_settings, partner, "contacts", tokens, options=opts)
    assert stats.quota_stop and "daily limit" in stats.quota_stop
    refused = _quota(hubspot_host, portal_id)["daily_refused"]
    assert 1 <= refused <= 5  # urllib3's own retries at most; none of ours
    # The next pulls that day do not knock again.
    for _ in range(3):
        assert pull_objects(db, hs_settings, partner, "contacts", tokens,
                            options=opts).quota_stop
    assert _quota(hubspot_host, portal_id)["daily_refused"] == refused
    _quota(hubspot_host, portal_id, daily_limit=None)


def test_a_429_storm_mid_pull_resumes_from_the_last_saved_page(
    db, hs_settings, hubspot_host, world
):
    partner = world.partner_a
    portal_id = connect(db, hs_settings, partner, deals=5, contacts=CONTACTS)
    tokens = PartnerTokens(db, hs_settings, partner)
    # A short storm (3 answers) is ridden out by the retries: nothing to see.
    _quota(hubspot_host, portal_id, storm_429=3)
    opts = PullOptions(call=CallPolicy(attempts=1, pause_s=0), retry=QUICK,
                       prefetch_batches=1)
    batches = 0

    def storm_after_two(_stats):
        nonlocal batches
        batches += 1
        if batches == 2:  # a storm longer than any retry, in the middle of the pull
            _quota(hubspot_host, portal_id, storm_429=1_000)

    with pytest.raises(PullFailed, match="429"):
        pull_objects(db, hs_settings, partner, "contacts", tokens, options=opts,
                     on_progress=storm_after_two)
    assert _quota(hubspot_host, portal_id)["storm_sent"] >= 3 + 5
    saved = _stored(db, partner)
    cursor = load_cursor(db, partner, "contacts")
    assert cursor is not None and cursor.phase == "full" and 0 < len(saved) < CONTACTS

    _quota(hubspot_host, portal_id, storm_429=0)
    resumed = pull_objects(db, hs_settings, partner, "contacts", tokens)
    stored = _stored(db, partner)
    assert len(stored) == len(set(stored)) == CONTACTS  # none lost, none twice
    assert set(stored) == _portal_ids(hubspot_host, portal_id)
    # It started from the last saved page, not from the beginning.
    assert resumed.fetched <= CONTACTS - len(saved) + 100
    assert resumed.created == CONTACTS - len(saved)

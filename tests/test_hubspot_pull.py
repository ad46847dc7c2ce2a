"""The HubSpot pull engine against the real sandbox process and the real nx-27017 store.

Each test generates its own portal, so tests never see each other's data; request counts
come from the sandbox's per-portal statistics, i.e. what HubSpot would have seen.
"""

from __future__ import annotations

import math
import uuid
from typing import Any

import httpx
import pytest

from pc_core.hubspot.connection.objects import PROPERTIES, RAW_COLLECTION
from pc_core.hubspot.connection.transport import CallPolicy
from pc_core.hubspot.pull.cursors import SyncCursor, load_cursor, save_cursor
from pc_core.hubspot.pull.engine import PullFailed, PullOptions, pull_objects, pull_pipelines

EXACT = PullOptions(lookback_ms=0)  # request counts without the index-lag lookback


class SandboxTokens:
    """An ``AccessTokenProvider`` minting tokens through the sandbox's admin route."""

    def __init__(self, host: str, portal_id: int, *, fail_get_after: int | None = None,
                 refresh_works: bool = True) -> None:
        self.host, self.portal_id = host, portal_id
        self.gets = self.refreshes = 0
        self.fail_get_after = fail_get_after
        self.refresh_works = refresh_works
        self.token = self._mint()

    def _mint(self) -> str:
        r = httpx.post(f"{self.host}/_sandbox/portals/{self.portal_id}/tokens", json={})
        r.raise_for_status()
        return r.json()["access_token"]

    def get(self) -> str:
        self.gets += 1
        if self.fail_get_after is not None and self.gets > self.fail_get_after:
            raise RuntimeError("token store unavailable")
        return self.token

    def refresh(self) -> str:
        self.refreshes += 1
        if self.refresh_works:
            self.token = self._mint()
        return self.token


class Sandbox:
    """Admin helpers over the sandbox's ``/_sandbox`` routes."""

    def __init__(self, host: str) -> None:
        self.host = host

    def admin(self, method: str, path: str, **kw: Any) -> Any:
        r = httpx.request(method, f"{self.host}/_sandbox/{path}", timeout=60, **kw)
        r.raise_for_status()
        return r.json() if r.content else None

    def config(self, **changes: Any) -> None:
        self.admin("PUT", "config", json=changes)

    def portal(self, contacts: int, deals: int, pipelines: int = 2) -> int:
        return self.admin("POST", "portals", json={
            "contacts": contacts, "deals": deals, "pipelines": pipelines, "seed": 7})["id"]

    def stats(self, portal_id: int) -> dict[str, int]:
        return self.admin("GET", "stats")["by_portal"].get(str(portal_id), {})

    def reset_stats(self) -> None:
        self.admin("POST", "stats/reset")

    def touch(self, portal_id: int, object_type: str, **body: Any) -> dict[str, Any]:
        return self.admin("POST", f"portals/{portal_id}/touch",
                          json={"object_type": object_type, **body})

    def archive(self, token: str, object_type: str, ids: list[str]) -> None:
        for i in ids:
            httpx.delete(f"{self.host}/crm/v3/objects/{object_type}/{i}",
                         headers={"Authorization": f"Bearer {token}"}).raise_for_status()

    def records(self, token: str, object_type: str, archived: bool) -> dict[str, dict]:
        """Every record through the sandbox's list API (not through the engine)."""
        out: dict[str, dict] = {}
        after = None
        while True:
            params: dict[str, Any] = {
                "limit": 100, "properties": ",".join(PROPERTIES[object_type]),  # type: ignore[index]
                "archived": "true" if archived else "false"}
            if object_type == "deals":
                params["associations"] = "contacts"
            if after:
                params["after"] = after
            r = httpx.get(f"{self.host}/crm/v3/objects/{object_type}", params=params,
                          headers={"Authorization": f"Bearer {token}"}, timeout=30)
            r.raise_for_status()
            page = r.json()
            for item in page["results"]:
                out[item["id"]] = item
            after = (page.get("paging") or {}).get("next", {}).get("after")
            if not after:
                return out


@pytest.fixture
def sandbox(hubspot_host: str) -> Sandbox:
    """Clean switches and statistics, rate limits off (tests about them turn them on)."""
    box = Sandbox(hubspot_host)
    box.admin("POST", "reset", json={})
    box.config(rate_limits=False)
    yield box
    box.admin("POST", "reset", json={})


@pytest.fixture
def hs_settings(settings, hubspot_host):
    return settings.model_copy(update={"hubspot_base_url": hubspot_host})


def partner() -> str:
    return f"p-{uuid.uuid4().hex[:8]}"


def stored(db, partner_id: str, object_type: str) -> dict[str, dict]:
    docs = db[RAW_COLLECTION[object_type]].find({"partner_id": partner_id})  # type: ignore[index]
    return {d["hubspot_id"]: d for d in docs}


def assoc_ids(item: dict) -> list[str]:
    results = ((item.get("associations") or {}).get("contacts") or {}).get("results") or []
    return list(dict.fromkeys(str(r["id"]) for r in results))


def assert_mirrors_portal(db, box: Sandbox, token: str, partner_id: str,
                          object_type: str) -> None:
    """The raw collection holds exactly the portal's records, values and flags."""
    active = box.records(token, object_type, archived=False)
    archived = box.records(token, object_type, archived=True)
    docs = stored(db, partner_id, object_type)
    assert set(docs) == set(active) | set(archived)
    for hid, item in {**active, **archived}.items():
        doc = docs[hid]
        assert doc["_id"] == f"{partner_id}:{hid}"
        assert doc["properties"] == item["properties"], hid
        assert doc["archived"] is item["archived"]
        if object_type == "deals":
            assert doc["associations"] == {"contacts": assoc_ids(item)}, hid
        else:
            assert "associations" not in doc


# -- full pulls ----------------------------------------------------------------------------


def test_full_pull_equals_the_portal(db, hs_settings, sandbox):
    pid = sandbox.portal(contacts=1_250, deals=1_030)
    tokens = SandboxTokens(sandbox.host, pid)
    gone_deals = [str(5_000_000_001 + i) for i in (3, 500, 1_029)]
    gone_contacts = [str(1001 + i) for i in (0, 77)]
    sandbox.archive(tokens.token, "deals", gone_deals)
    sandbox.archive(tokens.token, "contacts", gone_contacts)
    sandbox.reset_stats()
    p = partner()

    deals = pull_objects(db, hs_settings, p, "deals", tokens)
    contacts = pull_objects(db, hs_settings, p, "contacts", tokens)
    seen = sandbox.stats(pid)

    assert (deals.mode, deals.created, deals.archived, deals.updated) == ("full", 1_027, 3, 0)
    assert (contacts.mode, contacts.created, contacts.archived) == ("full", 1_248, 2)
    assert deals.fetched == 1_030 and contacts.fetched == 1_250
    assert_mirrors_portal(db, sandbox, tokens.token, p, "deals")
    assert_mirrors_portal(db, sandbox, tokens.token, p, "contacts")

    doc = db[RAW_COLLECTION["deals"]].find_one({"_id": f"{p}:{5_000_000_002}"})
    assert doc["dirty"] is True and doc["partner_id"] == p
    assert doc["hs_updated_at"].tzinfo is not None  # a date, not a string
    assert doc["pulled_at"].tzinfo is not None
    assert db[RAW_COLLECTION["deals"]].find_one({"_id": f"{p}:{gone_deals[0]}"})["archived"]

    # one list request per 100 records, one archived page, one search for the start time
    assert seen["list"] == math.ceil(1_027 / 100) + 1 + math.ceil(1_248 / 100) + 1
    assert seen["search"] == 2
    assert seen["total"] == deals.requests + contacts.requests
    cursor = load_cursor(db, p, "deals")
    assert cursor.phase == "incremental" and cursor.archived_seen == 3 and cursor.since_ms > 0


def test_pull_pipelines_lists_every_stage(db, hs_settings, sandbox):
    pid = sandbox.portal(contacts=5, deals=5, pipelines=3)
    rows = pull_pipelines(db, hs_settings, partner(), SandboxTokens(sandbox.host, pid))
    portal = sandbox.admin("GET", f"portals/{pid}")
    expected = {(p["id"], s["id"]) for p in portal["pipelines"] for s in p["stages"]}
    assert {(r["pipeline_id"], r["stage_id"]) for r in rows} == expected
    won = next(r for r in rows if r["stage_id"] == "closedwon")
    assert won == {"pipeline_id": "default", "pipeline_label": "Sales Pipeline",
                   "stage_id": "closedwon", "stage_label": "Closed Won",
                   "display_order": 5, "probability": 1.0, "is_closed": True}
    assert not next(r for r in rows if r["stage_id"] == "appointmentscheduled")["is_closed"]
    assert db["stage_mappings"].find_one() is None  # listed, not stored


# -- incremental pulls ---------------------------------------------------------------------


def test_incremental_pull_fetches_only_the_changes(db, hs_settings, sandbox):
    pid = sandbox.portal(contacts=2_000, deals=2_000)
    tokens = SandboxTokens(sandbox.host, pid)
    p = partner()
    pull_objects(db, hs_settings, p, "deals", tokens)
    pull_objects(db, hs_settings, p, "contacts", tokens)
    deals_coll = db[RAW_COLLECTION["deals"]]
    deals_coll.update_many({"partner_id": p}, {"$set": {"dirty": False}})  # as the builder does
    untouched_before = deals_coll.find_one({"_id": f"{p}:5000000001"})
    touched = sandbox.touch(pid, "deals", count=450, seed=1, properties={"amount": "4242"})
    sandbox.touch(pid, "contacts", count=130, seed=2, properties={"jobtitle": "CRO"})
    sandbox.reset_stats()

    deals = pull_objects(db, hs_settings, p, "deals", tokens, options=EXACT)
    contacts = pull_objects(db, hs_settings, p, "contacts", tokens, options=EXACT)
    seen = sandbox.stats(pid)

    assert (deals.mode, deals.created, deals.updated) == ("incremental", 0, 450)
    assert (contacts.mode, contacts.created, contacts.updated) == ("incremental", 0, 130)
    # besides the changes only the records at the cursor's own timestamp are read again
    assert deals.unchanged < 50 and contacts.unchanged < 50
    # search pages for the changes (+ re-reading the one timestamp they share), one
    # association read for ≤ 1,000 deals, one archived page per type: nothing per portal size
    assert seen["search"] <= math.ceil(450 / 200) + 4 + math.ceil(130 / 200) + 3
    assert seen["batch"] == 1  # v4 association batch read
    assert seen["list"] == 2
    assert seen["total"] == deals.requests + contacts.requests
    docs = stored(db, p, "deals")
    for hid in touched["ids"]:
        assert docs[hid]["properties"]["amount"] == "4242" and docs[hid]["dirty"] is True
    assert_mirrors_portal(db, sandbox, tokens.token, p, "deals")
    if "5000000001" not in touched["ids"]:
        after = deals_coll.find_one({"_id": f"{p}:5000000001"})
        assert after == untouched_before  # not rewritten


def test_25000_records_sharing_one_timestamp_all_arrive(db, hs_settings, sandbox):
    """Past HubSpot's 10,000-result search cap, with every record at one timestamp."""
    pid = sandbox.portal(contacts=200, deals=26_000)
    tokens = SandboxTokens(sandbox.host, pid)
    p = partner()
    touched = sandbox.touch(pid, "deals", count=25_000, seed=3)  # one timestamp for all
    # start incrementally just before the bulk edit (as if the full pull ran earlier)
    save_cursor(db, SyncCursor(p, "deals", phase="incremental",
                               since_ms=touched["updated_ms"] - 1))
    sandbox.reset_stats()

    stats = pull_objects(db, hs_settings, p, "deals", tokens, options=EXACT)

    docs = stored(db, p, "deals")
    assert set(touched["ids"]) <= set(docs)
    assert stats.created == len(docs) >= 25_000
    seen = sandbox.stats(pid)
    assert "400" not in sandbox.admin("GET", "stats")["by_status"]  # never paged past 10k
    assert seen["search"] <= math.ceil(25_000 / 200) + 5
    assert seen["batch"] == 25  # v4 association batch reads of 1,000
    assert all(d["associations"]["contacts"] for d in docs.values())
    cursor = load_cursor(db, p, "deals")
    assert cursor.since_ms == touched["updated_ms"] + 1 and cursor.tie_after_id is None
    again = pull_objects(db, hs_settings, p, "deals", tokens, options=EXACT)
    assert again.fetched == 0 and again.requests <= 2


def test_changing_only_the_modified_time_keeps_dirty_flags(db, hs_settings, sandbox):
    pid = sandbox.portal(contacts=300, deals=300)
    tokens = SandboxTokens(sandbox.host, pid)
    p = partner()
    pull_objects(db, hs_settings, p, "deals", tokens)
    coll = db[RAW_COLLECTION["deals"]]
    coll.update_many({"partner_id": p}, {"$set": {"dirty": False}})
    touched = sandbox.touch(pid, "deals", count=40, seed=4)  # like a pipeline edit

    stats = pull_objects(db, hs_settings, p, "deals", tokens, options=EXACT)

    assert (stats.updated, stats.created) == (0, 0) and stats.unchanged >= 40
    for hid in touched["ids"]:
        doc = coll.find_one({"_id": f"{p}:{hid}"})
        assert doc["dirty"] is False
        assert doc["properties"]["hs_lastmodifieddate"] == touched["updatedAt"]
        assert int(doc["hs_updated_at"].timestamp() * 1000) == touched["updated_ms"]


def test_archived_records_are_marked_on_incremental_pulls(db, hs_settings, sandbox):
    pid = sandbox.portal(contacts=150, deals=150)
    tokens = SandboxTokens(sandbox.host, pid)
    p = partner()
    pull_objects(db, hs_settings, p, "deals", tokens)
    sandbox.archive(tokens.token, "deals", ["5000000010"])

    stats = pull_objects(db, hs_settings, p, "deals", tokens, options=EXACT)

    assert stats.archived == 1
    doc = db[RAW_COLLECTION["deals"]].find_one({"_id": f"{p}:5000000010"})
    assert doc["archived"] is True and doc["dirty"] is True
    never = pull_objects(db, hs_settings, p, "deals", tokens,
                         options=PullOptions(lookback_ms=0, archived_pass="never"))
    assert never.archived == 0 and never.requests == 1  # one search, answering nothing


def test_the_look_back_rereads_recent_changes_once_not_forever(db, hs_settings, sandbox):
    """Against search-index lag the pull re-reads the moments before its cursor, but a
    quiet portal then costs one search per pull, whatever was changed long ago."""
    pid = sandbox.portal(contacts=500, deals=10)
    tokens = SandboxTokens(sandbox.host, pid)
    p = partner()
    pull_objects(db, hs_settings, p, "contacts", tokens)
    sandbox.touch(pid, "contacts", count=30, seed=9, properties={"jobtitle": "Founder"})

    first = pull_objects(db, hs_settings, p, "contacts", tokens)
    second = pull_objects(db, hs_settings, p, "contacts", tokens)
    third = pull_objects(db, hs_settings, p, "contacts", tokens)

    assert first.updated + first.unchanged >= 30 and first.created == 0
    assert second.updated == 0 and second.fetched >= 30  # read once more, nothing new
    assert third.fetched == 0
    assert third.requests == 2  # one empty search page, one archived-records page


# -- idempotence and resumption --------------------------------------------------------------


def test_running_a_pull_twice_changes_nothing(db, hs_settings, sandbox):
    pid = sandbox.portal(contacts=400, deals=400)
    tokens = SandboxTokens(sandbox.host, pid)
    p = partner()
    first = pull_objects(db, hs_settings, p, "deals", tokens)
    coll = db[RAW_COLLECTION["deals"]]
    coll.update_many({"partner_id": p, "hubspot_id": {"$in": ["5000000001", "5000000002"]}},
                     {"$set": {"dirty": False}})
    before = {d["_id"]: d for d in coll.find({"partner_id": p})}

    again = pull_objects(db, hs_settings, p, "deals", tokens)
    full_again = pull_objects(db, hs_settings, p, "deals", tokens, full=True)

    assert first.created == 400
    assert (again.mode, again.created, again.updated, again.archived) == (
        "incremental", 0, 0, 0)
    assert (full_again.mode, full_again.created, full_again.updated) == ("full", 0, 0)
    assert full_again.unchanged == 400
    after = {d["_id"]: d for d in coll.find({"partner_id": p})}
    assert after == before  # nothing rewritten, dirty flags as they were


def test_an_interrupted_full_pull_resumes_from_its_cursor(db, hs_settings, sandbox):
    pid = sandbox.portal(contacts=50, deals=1_000)
    tokens = SandboxTokens(sandbox.host, pid)
    p = partner()
    batches = 0

    def stop_after_three(_stats):
        nonlocal batches
        batches += 1
        if batches == 3:
            raise RuntimeError("worker killed")

    with pytest.raises(PullFailed) as failed:
        pull_objects(db, hs_settings, p, "deals", tokens, on_progress=stop_after_three)
    assert failed.value.stats.created == 300
    cursor = load_cursor(db, p, "deals")
    assert (cursor.phase, cursor.full_stage, cursor.fresh) == ("full", "active", True)
    assert cursor.full_after
    sandbox.reset_stats()

    resumed = pull_objects(db, hs_settings, p, "deals", tokens)

    assert (resumed.mode, resumed.created, resumed.unchanged) == ("full", 700, 0)
    assert sandbox.stats(pid)["list"] == 7 + 1  # the rest, then the archived page
    assert len(stored(db, p, "deals")) == 1_000
    assert_mirrors_portal(db, sandbox, tokens.token, p, "deals")
    assert load_cursor(db, p, "deals").fresh is False


def test_a_page_stored_twice_after_a_lost_cursor_is_not_duplicated(db, hs_settings, sandbox):
    """Killed after storing pages but before saving the cursor: the pages come again."""
    pid = sandbox.portal(contacts=50, deals=500)
    tokens = SandboxTokens(sandbox.host, pid)
    p = partner()

    def stop_after_two(stats):
        if stats.created >= 200:
            raise RuntimeError("worker killed")

    with pytest.raises(PullFailed):
        pull_objects(db, hs_settings, p, "deals", tokens, on_progress=stop_after_two)
    coll = db[RAW_COLLECTION["deals"]]
    coll.update_many({"partner_id": p}, {"$set": {"dirty": False}})
    save_cursor(db, load_cursor(db, p, "deals").moved(full_after=None))  # the saves lost

    resumed = pull_objects(db, hs_settings, p, "deals", tokens)

    assert (resumed.created, resumed.unchanged, resumed.updated) == (300, 200, 0)
    docs = stored(db, p, "deals")
    assert len(docs) == 500
    assert sum(d["dirty"] for d in docs.values()) == 300  # the re-read ones kept their flag
    assert_mirrors_portal(db, sandbox, tokens.token, p, "deals")


def test_an_interrupted_incremental_pull_resumes_inside_a_shared_timestamp(
        db, hs_settings, sandbox):
    pid = sandbox.portal(contacts=50, deals=3_000)
    tokens = SandboxTokens(sandbox.host, pid)
    p = partner()
    pull_objects(db, hs_settings, p, "deals", tokens)
    touched = sandbox.touch(pid, "deals", count=1_500, seed=5, properties={"dealstage":
                                                                            "closedlost"})
    # the token store fails after a few requests, in the middle of the fetching thread
    failing = SandboxTokens(sandbox.host, pid, fail_get_after=10)
    quick = PullOptions(lookback_ms=0, call=CallPolicy(token_recheck_s=0))

    with pytest.raises(PullFailed):
        pull_objects(db, hs_settings, p, "deals", failing, options=quick)
    cursor = load_cursor(db, p, "deals")
    assert cursor.phase == "incremental" and cursor.tie_after_id not in (None, "0")
    partial = stored(db, p, "deals")
    assert sum(d["properties"]["dealstage"] == "closedlost" and d["hubspot_id"]
                   in touched["ids"] and d["dirty"] for d in partial.values()) > 0

    resumed = pull_objects(db, hs_settings, p, "deals", tokens, options=EXACT)

    assert resumed.created == 0
    docs = stored(db, p, "deals")
    assert len(docs) == 3_000
    assert all(docs[i]["properties"]["dealstage"] == "closedlost" for i in touched["ids"])
    assert_mirrors_portal(db, sandbox, tokens.token, p, "deals")


# -- resilience --------------------------------------------------------------------------------


def test_injected_429s_and_500s_give_the_same_data_as_none(db, hs_settings, sandbox):
    pid = sandbox.portal(contacts=500, deals=500)
    tokens = SandboxTokens(sandbox.host, pid)
    clean, faulty = partner(), partner()
    for otype in ("deals", "contacts"):
        pull_objects(db, hs_settings, clean, otype, tokens)
    sandbox.touch(pid, "deals", count=250, seed=6, properties={"amount": "99"})

    sandbox.config(fail_429=0.1, fail_500=0.1, seed=11)
    sandbox.reset_stats()
    runs = [pull_objects(db, hs_settings, faulty, otype, tokens)
            for otype in ("deals", "contacts")]
    # incremental: search and association POSTs under faults too
    runs += [pull_objects(db, hs_settings, faulty, otype, tokens)
             for otype in ("deals", "contacts")]
    requests = sum(r.requests for r in runs)
    injected = sandbox.admin("GET", "stats")["injected"]
    sent = sandbox.stats(pid)["total"]
    sandbox.config(fail_429=0, fail_500=0)
    for otype in ("deals", "contacts"):
        pull_objects(db, hs_settings, clean, otype, tokens)

    assert injected.get("429", 0) > 0 and injected.get("500", 0) > 0
    assert [r.mode for r in runs] == ["full", "full", "incremental", "incremental"]
    assert all(r.errors == [] for r in runs)  # urllib3's Retry absorbed every fault
    assert requests == sent  # retries counted like HubSpot counts them
    for otype in ("deals", "contacts"):
        a, b = stored(db, clean, otype), stored(db, faulty, otype)
        assert set(a) == set(b)
        for hid in a:
            assert a[hid]["properties"] == b[hid]["properties"]
            assert a[hid]["archived"] == b[hid]["archived"]
            assert a[hid].get("associations") == b[hid].get("associations")


def test_rate_limits_are_waited_out(db, hs_settings, sandbox):
    """With HubSpot's limits on (5 searches/s), a search-heavy pull waits and completes."""
    pid = sandbox.portal(contacts=50, deals=1_600)
    tokens = SandboxTokens(sandbox.host, pid)
    p = partner()
    pull_objects(db, hs_settings, p, "deals", tokens)
    sandbox.touch(pid, "deals", count=1_400, seed=8, properties={"amount": "1"})
    sandbox.config(rate_limits=True)
    sandbox.reset_stats()

    stats = pull_objects(db, hs_settings, p, "deals", tokens, options=EXACT)

    assert stats.updated == 1_400
    status = sandbox.admin("GET", "stats")["by_status"]
    assert status.get("429", 0) > 0  # the limit was hit, and waited out
    assert sandbox.stats(pid)["total"] == stats.requests


def test_an_expired_token_is_refreshed_once(db, hs_settings, sandbox):
    pid = sandbox.portal(contacts=20, deals=250)
    tokens = SandboxTokens(sandbox.host, pid)
    sandbox.admin("POST", f"tokens/{tokens.token}/expire")

    stats = pull_objects(db, hs_settings, partner(), "deals", tokens)

    assert tokens.refreshes == 1
    assert stats.created == 250
    assert stats.requests == 1 + 1 + 3 + 1  # 401, start-time search, 3 pages, archived
    assert stats.errors == []  # an expired token is routine, not an error


def test_a_refused_token_fails_after_one_refresh(db, hs_settings, sandbox):
    pid = sandbox.portal(contacts=20, deals=20)
    tokens = SandboxTokens(sandbox.host, pid, refresh_works=False)
    sandbox.admin("POST", f"tokens/{tokens.token}/expire")

    with pytest.raises(PullFailed) as failed:
        pull_objects(db, hs_settings, partner(), "deals", tokens)

    assert tokens.refreshes == 1
    assert "401" in str(failed.value)
    assert failed.value.stats.requests == 2


def test_slow_answers_time_out_and_are_retried(db, hs_settings, sandbox):
    pid = sandbox.portal(contacts=20, deals=600)
    tokens = SandboxTokens(sandbox.host, pid)
    sandbox.config(slow_fraction=0.25, slow_ms=1_500, seed=5)
    impatient = PullOptions(call=CallPolicy(read_timeout_s=0.5, pause_s=0.1))
    p = partner()

    stats = pull_objects(db, hs_settings, p, "deals", tokens, options=impatient)

    assert stats.created == 600
    assert stats.requests > math.ceil(600 / 100) + 2  # timed-out requests were sent again
    assert sandbox.admin("GET", "stats")["slowed"] > 0
    sandbox.config(slow_fraction=0)
    assert_mirrors_portal(db, sandbox, tokens.token, p, "deals")


# -- the search windows without the sandbox: HubSpot promises no order among equal times -------


class ShuffledTiesSearch:
    """HubSpot's search semantics over a list of records, with ties on the sort property
    returned in a different random order on every request, and the 10,000-result cap."""

    def __init__(self, records: list[tuple[int, int]], seed: int) -> None:
        import random

        self.records = records  # (modified ms, id)
        self.rng = random.Random(seed)
        self.requests = 0

    def search(self, object_type: str, body: dict[str, Any]) -> dict[str, Any]:
        self.requests += 1
        assert int(body.get("after") or 0) < 10_000
        (group,) = body["filterGroups"]
        rows = self.records
        for f in group["filters"]:
            value = int(f["value"])
            index = 0 if f["propertyName"] == "hs_lastmodifieddate" else 1
            op = {"GTE": lambda a, b: a >= b, "EQ": lambda a, b: a == b,
                  "GT": lambda a, b: a > b}[f["operator"]]
            rows = [r for r in rows if op(r[index], value)]
        by = 0 if body["sorts"][0]["propertyName"] == "hs_lastmodifieddate" else 1
        rows = sorted(rows, key=lambda r: (r[by], self.rng.random()))
        page = rows[: body["limit"]]
        return {"total": len(rows), "results": [
            {"id": str(i), "updatedAt": "", "archived": False,
             "properties": {"hs_lastmodifieddate": str(ts), "hs_object_id": str(i)}}
            for ts, i in page]}


@pytest.mark.parametrize(("seed", "since", "lookback"),
                         [(1, 1_000, 0), (2, 1_000, 0), (3, 2_500, 1_600)])
def test_search_windows_do_not_rely_on_the_order_of_ties(seed, since, lookback):
    import random

    from pc_core.hubspot.connection.pages import search_pages

    rng = random.Random(seed)
    ids = rng.sample(range(1, 10**9), 30_000)
    times = [1_000 + rng.choice([0, 0, 0, 5, 7, 7, rng.randrange(10_000)]) for _ in ids]
    times[: 12_000] = [2_000] * 12_000  # a bulk edit bigger than the search cap
    api = ShuffledTiesSearch(list(zip(times, ids, strict=True)), seed)

    seen: set[str] = set()
    positions = []
    for batch in search_pages(api, "deals", since_ms=since, tie_after_id=None,  # type: ignore[arg-type]
                              lookback_ms=lookback):
        seen.update(r.id for r in batch.records)
        positions.append(batch.position)

    assert seen == {str(i) for i in ids}
    assert api.requests < 30_000 / 200 * 1.6
    assert positions[-1] == {"since_ms": max(times) + 1, "tie_after_id": None}
    assert all(p["since_ms"] >= since - lookback for p in positions)


def test_failures_that_outlast_urllib3s_retries_get_a_few_more_tries(settings):
    from hubspot.crm.deals.exceptions import ApiException

    from pc_core.hubspot.connection.transport import HubSpotApi, HubSpotCallError

    class Answer:  # the parts of urllib3's response the transport reads
        data = b'{"results": []}'
        headers: dict[str, str] = {}

        def release_conn(self) -> None:
            pass

    class StaticTokens:
        def get(self) -> str:
            return "t"

        def refresh(self) -> str:
            return "t"

    failures = [ApiException(status=503), ApiException(status=429)]

    def send():
        if failures:
            raise failures.pop(0)
        return Answer()

    incidents: list[str] = []
    api = HubSpotApi(settings, StaticTokens(), CallPolicy(pause_s=0.01),
                     on_incident=incidents.append)
    holder = api._basic["deals"]
    assert api._call("list deals", holder, send) == {"results": []}
    assert api.requests == 3 and len(incidents) == 2

    def bad_request():
        raise ApiException(status=400)

    with pytest.raises(HubSpotCallError) as failed:
        api._call("search deals", holder, bad_request)
    assert failed.value.status == 400 and api.requests == 4  # not retried

    always = [ApiException(status=500)] * 5

    def down():
        raise always.pop(0)

    with pytest.raises(HubSpotCallError):
        api._call("list deals", holder, down)
    assert len(always) == 2  # three tries in all (CallPolicy.attempts)

"""The ChiliPiper booking path cut to fewer database round trips (issue 22): concurrent
bookings still rotate exactly, in one process (taking turns) and across replicas
(racing through the compare-and-set); redeliveries racing other bookings still make
one lead; the round-robin state continues from its earlier collection; a booking
whose process dies after answering still notifies its partner, once; a run of
writes to one collection is one ordered command that stops at the first refused."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from pc_core import collections as c
from pc_core.meetings import notify, round_robin, webhook
from pc_core.meetings.payload import ChiliPiperPayload
from pc_core.store import batch
from pc_core.timeutil import utcnow
from tests.conftest import market_settings
from tests.test_meetings import payload


@pytest.fixture
def settings(stores, sandbox_url):
    return market_settings(stores, sandbox_url)


def _route_intro(db, weights: dict[str, int], **rules) -> None:
    for pid, weight in weights.items():
        db[c.PARTNERS].update_one({"_id": pid}, {"$set": {
            "chili_meeting_types": ["intro"], "routing": {"weight": weight, **rules}}})


def _leads_by_partner(db) -> Counter:
    return Counter(d["partner_id"] for d in db[c.LEADS].find({"source": "chilipiper"},
                                                             {"partner_id": 1}))


@pytest.fixture(params=["one-process", "replicas"])
def deployment(request, monkeypatch) -> str:
    """``replicas``: every booking its own lock, as if each ran in another API
    process; only the compare-and-set keeps them apart."""
    if request.param == "replicas":
        monkeypatch.setattr(webhook, "_pick_lock", lambda db, meeting_type: threading.Lock())
    return request.param


def test_concurrent_bookings_rotate_exactly(world, db, settings, deployment):
    _route_intro(db, {world.partner_a: 1, world.partner_b: 2})
    models = [ChiliPiperPayload.model_validate(payload(f"{deployment}-{i}"))
              for i in range(60)]
    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(lambda m: webhook.handle(db, settings, m), models))
    assert Counter(o.status for o in outcomes) == {"created": 60}
    assert _leads_by_partner(db) == {world.partner_a: 20, world.partner_b: 40}
    counts = round_robin.monthly_counts(db, [world.partner_a, world.partner_b],
                                        round_robin.month_key(utcnow()))
    assert counts == {world.partner_a: 20, world.partner_b: 40}
    state, stored = round_robin.load_state(db, "intro")
    assert stored and state["picks"] == 60 and sum(state["credits"].values()) == 0


def test_redeliveries_racing_other_bookings_make_one_lead_each(world, db, settings,
                                                                 deployment):
    _route_intro(db, {world.partner_a: 1, world.partner_b: 1})
    models = [ChiliPiperPayload.model_validate(payload(f"d-{i}")) for i in range(16)]
    deliveries = [m for m in models for _ in range(3)]
    with ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(lambda m: webhook.handle(db, settings, m), deliveries))
    assert Counter(o.status for o in outcomes) == {"created": 16, "duplicate": 32}
    leads = list(db[c.LEADS].find({"source": "chilipiper"}, {"meeting_id": 1}))
    assert sorted(d["meeting_id"] for d in leads) == sorted(f"chilipiper:d-{i}"
                                                           for i in range(16))
    assert _leads_by_partner(db) == {world.partner_a: 8, world.partner_b: 8}
    by_meeting = {o.meeting["_id"]: o.meeting["lead_id"] for o in outcomes}
    assert all(o.meeting["lead_id"] == by_meeting[o.meeting["_id"]] for o in outcomes)


def test_the_state_continues_from_its_earlier_collection(world, db, settings):
    """A round-robin state written before the move (``routing_state``) is where the
    next pick starts from; that pick writes it in its new home."""
    _route_intro(db, {world.partner_a: 1, world.partner_b: 1})
    db[c.LEGACY_ROUTING_STATE].insert_one({
        "_id": round_robin.state_id("intro"), "meeting_type": "intro", "rev": 7, "picks": 7,
        "credits": {world.partner_a: -3, world.partner_b: 3}})
    first = webhook.handle(db, settings, ChiliPiperPayload.model_validate(payload("l-0")))
    second = webhook.handle(db, settings, ChiliPiperPayload.model_validate(payload("l-1")))
    # b is owed two turns; from no state, equal weights would alternate
    assert [first.lead["partner_id"], second.lead["partner_id"]] == \
        [world.partner_b, world.partner_b]
    state, stored = round_robin.load_state(db, "intro")
    assert stored and state["rev"] == 9 and state["picks"] == 9


def test_a_notice_the_process_never_sent_is_sent_once(world, db, settings, mailbox):
    """The API answered and died before its background job: the meeting's pending
    flag has the every-minute job send the e-mail, once; a sent one is not repeated
    and only loses its flag."""
    _route_intro(db, {world.partner_a: 1})
    lost = webhook.handle(db, settings, ChiliPiperPayload.model_validate(payload("lost")))
    sent = webhook.handle(db, settings, ChiliPiperPayload.model_validate(payload("sent")))
    webhook.run_after(sent)  # this one's process lived
    flagged = {m["_id"] for m in db[c.MEETINGS].find({notify.PENDING_FIELD: True})}
    assert flagged == {"chilipiper:lost", "chilipiper:sent"}
    assert notify.resume_pending(db, settings) == 0  # too young: maybe still on its way
    later = utcnow() + notify.GRACE + timedelta(seconds=1)
    assert notify.resume_pending(db, settings, later) == 1
    assert notify.resume_pending(db, settings, later) == 0
    items = mailbox.get("/messages", params={"to": world.admin_a.email}).json()["items"]
    assert len(items) == 2
    for outcome in (lost, sent):
        assert db[c.EMAILS].find_one({"_id": notify.email_key(outcome.lead["_id"])})[
            "status"] == "sent"
    assert db[c.MEETINGS].find_one({notify.PENDING_FIELD: True}) is None


def test_unassigned_bookings_carry_no_pending_notice(world, db, settings):
    webhook.handle(db, settings, ChiliPiperPayload.model_validate(
        payload("nobody", meeting_type="no-partner-takes-this")))
    assert notify.PENDING_FIELD not in db[c.MEETINGS].find_one({"_id": "chilipiper:nobody"})


def test_a_run_of_writes_to_one_collection_stops_at_the_first_refused(db):
    db["batch_probe"].insert_one({"_id": "s", "rev": 2})
    failed = batch.write_in_order(db, [
        batch.update("batch_probe", {"_id": "a"}, {"$set": {"n": 1}}, upsert=True),
        batch.cas("batch_probe", {"_id": "s", "rev": 1}, {"$set": {"rev": 2}}),
        batch.update("batch_probe", {"_id": "b"}, {"$set": {"n": 1}}, upsert=True),
        batch.insert("batch_probe_other", {"_id": "c"}),
    ])
    assert failed == 1
    assert {d["_id"] for d in db["batch_probe"].find()} == {"a", "s"}
    assert db["batch_probe_other"].find_one({}) is None
    ok = batch.write_in_order(db, [
        batch.cas("batch_probe", {"_id": "s", "rev": 2}, {"$set": {"rev": 3}}),
        batch.update("batch_probe", {"_id": "b"}, {"$set": {"n": 1}}, upsert=True),
        batch.insert("batch_probe_other", {"_id": "c"}),
    ])
    assert ok is None and db["batch_probe"].find_one({"_id": "s"})["rev"] == 3

"""Saved searches off the listing path (issue 19): the in-memory search index matches
with no database query and sees every acknowledged change at the next listing, in
any process; the e-mails wait in a durable queue that a SIGKILLed worker does not
lose or double, and the Dagster sensor drains only what the worker left behind."""

from __future__ import annotations

import socket
import subprocess
from datetime import timedelta

import pytest
from dagster import build_sensor_context
from pymongo import MongoClient

from pc_core import collections as c
from pc_core.buyer_alerts import mail_queue
from pc_core.buyer_alerts.notices import QUEUED, SENDING, SENT
from pc_core.buyer_alerts.search_index import ALL, SearchIndex, announce_change
from pc_core.buyer_alerts.unsubscribe import link_for
from pc_core.marketplace import listings
from pc_core.settings import Settings
from pc_core.store import time_key, wakeups
from pc_core.timeutil import utcnow
from pc_core.worker.runner import Worker
from pc_pipelines.buyer_alerts.mail import buyer_alert_mail_job, buyer_alert_mail_sensor
from pc_pipelines.resources import PlatformResource
from tests.conftest import market_settings, sigkill_when, wait_for, worker_process
from tests.marketplace_helpers import listed_lead
from tests.mongo_commands import CommandNames
from tests.test_buyer_alerts import _mails, _new_lead, _save


@pytest.fixture
def settings(stores, sandbox_url) -> Settings:
    return market_settings(stores, sandbox_url)


def _view(db, settings: Settings, lead_id: str) -> dict:
    return listings.listing_view(db[c.LEADS].find_one({"_id": lead_id}), None, settings,
                                 None, utcnow())


def test_the_index_matches_without_the_database_and_sees_every_change_at_once(
        client, db, world, settings):
    lead = listed_lead(db, world.partner_a, price_cents=50_000)
    view = _view(db, settings, lead)
    listener = CommandNames()
    watched = MongoClient(settings.mongodb_uri, event_listeners=[listener])
    other_db = watched[settings.mongodb_db]
    here, elsewhere = SearchIndex(), SearchIndex()  # two processes' indexes
    try:
        assert elsewhere.match(other_db, settings, view) == []  # loaded: nothing saved yet
        listener.names.clear()
        assert elsewhere.match(other_db, settings, view) == []
        assert listener.names == []  # no change announced: no query at all

        search = _save(client, world.user_b, price_max=60_000)
        assert [s["_id"] for s in here.match(db, settings, view)] == [search["id"]]
        assert [s["_id"] for s in elsewhere.match(other_db, settings, view)] == [search["id"]]
        assert listener.names  # the announced change was read...
        listener.names.clear()
        elsewhere.match(other_db, settings, view)
        assert listener.names == []  # ...once

        # An edit (what the notices copy: name, e-mail mode), an unsubscribe, a delete.
        assert client.patch(f"/v1/saved-searches/{search['id']}",
                            json={"email": "daily", "name": "renamed"},
                            headers=world.user_b.headers).status_code == 200
        [seen] = elsewhere.match(other_db, settings, view)
        assert (seen["email"], seen["name"]) == ("daily", "renamed")
        link = link_for(settings, search["id"]).replace(settings.public_url, "")
        assert client.get(link).status_code == 200
        assert [s["email"] for s in elsewhere.match(other_db, settings, view)] == ["off"]
        assert client.delete(f"/v1/saved-searches/{search['id']}",
                             headers=world.user_b.headers).status_code == 204
        assert elsewhere.match(other_db, settings, view) == []
        assert here.match(db, settings, view) == []

        # A bulk write (a seed, a migration) announced as one change of every search.
        db[c.SAVED_SEARCHES].insert_one({**db[c.SAVED_SEARCHES].find_one(
            {"_id": _save(client, world.user_b, name="kept")["id"]}), "_id": "bulk-1"})
        announce_change(db, settings, [ALL])
        assert sorted(s["name"] for s in elsewhere.match(other_db, settings, view)) == [
            "kept", "kept"]
    finally:
        watched.close()


def test_without_redis_the_index_reads_the_changes_each_match(client, db, world, settings):
    lead = listed_lead(db, world.partner_a, price_cents=50_000)
    view = _view(db, settings, lead)
    index = SearchIndex()
    assert index.match(db, settings, view) == []
    blind = settings.model_copy(update={"redis_url": "redis://127.0.0.1:9/0"})
    search = _save(client, world.user_b)  # announced on the real Redis, not seen by `blind`
    assert [s["_id"] for s in index.match(db, blind, view)] == [search["id"]]


def _blackhole() -> socket.socket:
    """A port that accepts connections and never answers (a Mailgun that hangs)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    return sock


def _worker(settings: Settings, mailgun: str) -> subprocess.Popen:
    """The alert lane's worker as a process, its Mailgun at ``mailgun``, its claims 1 s
    long."""
    return worker_process(settings.model_copy(update={"mailgun_base_url": mailgun}), "alert",
                          lease_s=1)


def test_a_queued_email_survives_a_killed_worker_and_is_sent_once(
        client, db, world, settings, mailbox, redis_conn):
    search = _save(client, world.user_b)
    lead = _new_lead(client, world.admin_a)
    notice_id = f"{search['id']}:{lead}"
    assert db[c.SEARCH_NOTICES].find_one({"_id": notice_id})["mail"] == QUEUED
    assert _mails(mailbox, world.user_b.email) == []  # listed and acknowledged, not sent

    hole = _blackhole()
    first = _worker(settings, f"http://127.0.0.1:{hole.getsockname()[1]}/mailgun")
    try:
        # The worker claims the e-mail, records it and hangs on Mailgun: killed there.
        sigkill_when(first, lambda: db[c.EMAILS].find_one({"template": "search_match"}), 60,
                     "the first worker recording the e-mail")
    finally:
        hole.close()
    assert db[c.SEARCH_NOTICES].find_one({"_id": notice_id})["mail"] == SENDING
    assert db[c.EMAILS].find_one({"template": "search_match"})["status"] == "pending"
    assert _mails(mailbox, world.user_b.email) == []

    # Restarted (the worker's code, in this process), it retakes the e-mail once the dead
    # worker's claim has run out and sends it; further passes send nothing more.
    again = Worker(settings, lanes=(wakeups.ALERT,), db=db)
    wait_for(lambda: again.run_once().mails.sent, 60,
             "the restarted worker sending it once the claim ran out")
    assert db[c.SEARCH_NOTICES].find_one({"_id": notice_id})["mail"] == SENT
    assert [again.run_once().mails.sent for _ in range(3)] == [0, 0, 0]
    assert len(_mails(mailbox, world.user_b.email)) == 1
    assert db[c.EMAILS].find_one({"template": "search_match"})["status"] == "sent"


def test_the_sensor_drains_only_what_the_worker_left_behind(
        client, db, world, settings, mailbox, instance, monkeypatch):
    monkeypatch.setenv("PC_BACKSTOP_AFTER_SECONDS", "30")
    monkeypatch.setenv("PC_MAILGUN_BASE_URL", settings.mailgun_base_url)  # the run's
    resources = {"platform": PlatformResource.of(settings)}

    def tick() -> list:
        result = buyer_alert_mail_sensor(build_sensor_context(instance=instance,
                                                              resources=resources))
        return getattr(result, "run_requests", None) or []

    _save(client, world.user_b)
    lead = _new_lead(client, world.admin_a)
    assert tick() == []  # just queued: the worker's
    db[c.SEARCH_NOTICES].update_many({"lead_id": lead}, {"$set": {
        "due_key": time_key(utcnow() - timedelta(seconds=45))}})
    [request] = tick()
    assert request.tags["pc/emails"] == "1"
    assert buyer_alert_mail_job.execute_in_process(instance=instance,
                                                   resources=resources).success
    assert len(_mails(mailbox, world.user_b.email)) == 1
    assert mail_queue.waiting(db, utcnow() + timedelta(days=1), limit=10) == []
    assert tick() == []

"""Saved searches (issue 19): every listing path reaches them, once per lead and
search, never the seller's own; live notices, e-mails, digests, one-click
unsubscribe; the API's scoping. Standing orders: tests/test_standing_orders.py."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

import pc_api.main
import pc_pipelines.definitions
from pc_core import collections as c
from pc_core import events
from pc_core.buyer_alerts import dispatch
from pc_core.buyer_alerts.digests import send_digests
from pc_core.buyer_alerts.unsubscribe import link_for
from pc_core.db import redis_client
from pc_core.hubspot.lead_build.lead_builder import build_leads, publish_lead_events
from pc_core.hubspot.lead_build.stage_mapping import store_pipeline_stages
from pc_core.marketplace import listings
from pc_core.marketplace.expiry import expire_reservations
from pc_core.settings import Settings
from pc_core.store import wakeups
from pc_core.timeutil import utcnow
from pc_core.worker.runner import Worker
from tests.conftest import csrf_headers, market_settings
from tests.marketplace_helpers import listed_lead, published, reserve
from tests.test_stage_mapping_and_leads import _deal, _raw, _stages

SAAS_US = {"industry": "SaaS", "location": "US"}


@pytest.fixture
def settings(stores, sandbox_url) -> Settings:
    return market_settings(stores, sandbox_url)


def _save(client, account, name="SaaS in the US", email="immediate", shared=False,
          **criteria):
    r = client.post("/v1/saved-searches", headers=account.headers, json={
        "name": name, "email": email, "shared": shared,
        "criteria": {**SAAS_US, **criteria}})
    assert r.status_code == 201, r.text
    return r.json()


def _new_lead(client, account, **fields):
    body = {"title": "Acme deal", "company": "Acme", "industry": "SaaS", "location": "US",
            "company_size": "51-200", "budget_cents": 2_000_000, "price_cents": 50_000,
            "status": "listed", **fields}
    r = client.post("/v1/leads", headers=account.headers, json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _notices(db, **match):
    return sorted(d["lead_id"] for d in db[c.SEARCH_NOTICES].find(match))


def _send_queued(db, settings: Settings) -> int:
    """One pass of the worker's alert lane: what sends the e-mails listings queued."""
    report = Worker(settings, lanes=(wakeups.ALERT,), db=db).run_once().mails
    assert report is not None
    return report.sent


def _mails(mailbox, to, tag="search_match"):
    return [m for m in mailbox.get("/messages", params={"to": to}).json()["items"]
            if tag in m["tags"]]


def test_entry_points_register_the_listing_hook():
    """The API and Dagster both import the alerts, so every process that lists leads
    runs them (a missing registration would silently drop every alert)."""
    assert pc_api.main.create_app and pc_pipelines.definitions.defs
    assert dispatch.on_listed in listings._hooks


def test_manual_listing_tells_the_buyer_live_and_by_one_email(client, db, world, settings,
                                                               mailbox):
    search = _save(client, world.user_b, price_max=60_000)
    pubsub = redis_client(settings).pubsub()
    pubsub.subscribe(events.CHANNEL)
    lead = _new_lead(client, world.admin_a)
    assert published(pubsub, events.SEARCH_MATCHED, lead, events.user_room(world.user_b.id))
    assert _notices(db, search_id=search["id"]) == [lead]
    assert _mails(mailbox, world.user_b.email) == []  # queued: the listing sends nothing
    assert _send_queued(db, settings) == 1
    mails = _mails(mailbox, world.user_b.email)
    assert len(mails) == 1
    assert "SaaS" in mails[0]["subject"] and "/v1/saved-searches/unsubscribe?token=" \
        in mails[0]["text"]
    assert "Acme" not in mails[0]["text"]  # nothing that names the company before a sale
    # Not matching: another industry, or dearer than the search's maximum.
    _new_lead(client, world.admin_a, industry="Retail")
    _new_lead(client, world.admin_a, price_cents=70_000)
    assert _notices(db, search_id=search["id"]) == [lead]
    # Off the market and back on: the same lead is not told twice.
    patch = {"status": "open"}
    assert client.patch(f"/v1/leads/{lead}", json=patch,
                        headers=world.admin_a.headers).status_code == 200
    assert client.patch(f"/v1/leads/{lead}", json={"status": "listed"},
                        headers=world.admin_a.headers).status_code == 200
    assert _notices(db, search_id=search["id"]) == [lead]
    assert _send_queued(db, settings) == 0
    assert len(_mails(mailbox, world.user_b.email)) == 1
    page = client.get("/v1/saved-searches/notices", headers=world.user_b.headers).json()
    assert [n["listing"]["id"] for n in page["items"]] == [lead]
    assert page["items"][0]["listing"]["price_cents"] == 50_000


def test_a_buyer_never_hears_of_its_own_listings(client, db, world, settings, mailbox):
    _save(client, world.user_a)  # agency A's user, matching agency A's lead
    theirs = _save(client, world.user_b)
    lead = _new_lead(client, world.admin_a)
    assert _notices(db, partner_id=world.partner_a) == []
    assert _notices(db, search_id=theirs["id"]) == [lead]
    assert _send_queued(db, settings) == 1
    assert _mails(mailbox, world.user_a.email) == []
    assert len(_mails(mailbox, world.user_b.email)) == 1


def test_a_shared_search_tells_the_whole_partner(client, db, world, settings):
    _save(client, world.user_b, shared=True, email="off")
    pubsub = redis_client(settings).pubsub()
    pubsub.subscribe(events.CHANNEL)
    lead = _new_lead(client, world.admin_a)
    assert published(pubsub, events.SEARCH_MATCHED, lead, events.partner_room(world.partner_b))
    # The colleague sees it among the partner's notices too.
    page = client.get("/v1/saved-searches/notices", headers=world.admin_b.headers).json()
    assert [n["lead_id"] if "lead_id" in n else n["listing"]["id"] for n in page["items"]] \
        == [lead]


def test_edit_to_listed_csv_import_and_price_drop_match(client, db, world):
    search = _save(client, world.user_b, price_max=30_000)
    # An open lead put on the market by an edit, dear at first: no match.
    lead = _new_lead(client, world.admin_a, status="open", price_cents=40_000)
    assert client.patch(f"/v1/leads/{lead}", json={"status": "listed"},
                        headers=world.admin_a.headers).status_code == 200
    assert _notices(db, search_id=search["id"]) == []
    # The seller lowers the price below the search's maximum: a match.
    assert client.patch(f"/v1/leads/{lead}", json={"price_cents": 25_000},
                        headers=world.admin_a.headers).status_code == 200
    assert _notices(db, search_id=search["id"]) == [lead]
    # The CSV import lists non-fit rows; those reach the search too.
    csv = ("title,industry,location,stage,price,external_id\n"
           "Fit one,SaaS,US,new,100,f1\n"
           "Non-fit one,SaaS,US,non_fit,100,n1\n")
    r = client.post("/v1/leads/import", headers=world.admin_a.headers,
                    files={"file": ("leads.csv", csv, "text/csv")})
    assert r.status_code == 200 and r.json()["created"] == 2, r.text
    imported = f"{world.partner_a}:ext:n1"
    assert _notices(db, search_id=search["id"]) == sorted([lead, imported])


def test_relisting_after_release_and_expiry_matches_new_searches(client, db, world, settings):
    lead = listed_lead(db, world.partner_a, price_cents=10_000)
    held = reserve(client, world.admin_b, lead).json()
    # Agency "b2"'s user saves a search while the lead is held...
    late = _save(client, world.user_b, name="later")
    assert _notices(db, search_id=late["id"]) == []
    # ...and hears of it when the buyer gives it back.
    assert client.delete(f"/v1/marketplace/reservations/{held['id']}",
                         headers=world.admin_b.headers).status_code == 200
    assert _notices(db, search_id=late["id"]) == [lead]
    # Expiry: reserved again by A's rival... here agency B again; it lapses.
    other = listed_lead(db, world.partner_a, price_cents=10_000)
    reserve(client, world.admin_b, other)
    assert _notices(db, search_id=late["id"]) == [lead]  # held leads are not told
    db[c.SEARCH_NOTICES].delete_many({"lead_id": other})
    assert expire_reservations(db, settings, utcnow() + timedelta(days=8)).expired == 1
    assert _notices(db, search_id=late["id"]) == sorted([lead, other])


def test_hubspot_listing_matches(client, db, world, settings):
    """The lead builder behind the HubSpot webhook and pull: a deal moved to a non-fit
    stage lists its lead, which reaches the searches."""
    search = _save(client, world.user_b, industry="SaaS", location=None)
    p = world.partner_a
    store_pipeline_stages(db, p, _stages())
    db[c.HUBSPOT_CONTACTS].insert_one(_raw(p, "contacts", "501", {
        "firstname": "Ada", "email": "a@x.example.com", "industry": "SaaS"}))
    db[c.HUBSPOT_DEALS].insert_one(_deal(p, "2", "901", pipeline="77", contact="501"))
    stats = build_leads(db, p)
    assert stats.listed == 1
    publish_lead_events(db, settings, p, stats)
    assert _notices(db, search_id=search["id"]) == [f"{p}:hs:2"]


def test_daily_digest_once_and_unsubscribe_without_sign_in(client, db, world, settings,
                                                           mailbox):
    search = _save(client, world.user_b, email="daily")
    first, second = _new_lead(client, world.admin_a), _new_lead(client, world.admin_a)
    assert _send_queued(db, settings) == 0
    assert _mails(mailbox, world.user_b.email) == []  # nothing until the digest
    assert send_digests(db, settings) == 1
    assert send_digests(db, settings) == 0
    digest = _mails(mailbox, world.user_b.email, "search_digest")
    assert len(digest) == 1 and digest[0]["subject"].startswith("2 new leads")
    assert first in digest[0]["text"] and second in digest[0]["text"]
    # The link works with no session at all, and only for its own search.
    link = link_for(settings, search["id"]).replace(settings.public_url, "")
    anonymous = client.get(link, headers={}, cookies={})
    assert anonymous.status_code == 200 and "Unsubscribed" in anonymous.text
    assert db[c.SAVED_SEARCHES].find_one({"_id": search["id"]})["email"] == "off"
    assert client.get(link[:-3] + "abc").status_code == 401
    _new_lead(client, world.admin_a)
    assert send_digests(db, settings) == 0  # switched off: nothing more


def test_saved_search_api_scoping_and_validation(client, db, world):
    mine = _save(client, world.user_b, name="mine")
    shared = _save(client, world.admin_b, name="team", shared=True)
    _save(client, world.admin_a, name="elsewhere")
    names = [s["name"] for s in client.get("/v1/saved-searches",
                                           headers=world.user_b.headers).json()["items"]]
    assert sorted(names) == ["mine", "team"]
    # A colleague's shared search is read-only; another partner's is not found.
    assert client.delete(f"/v1/saved-searches/{shared['id']}",
                         headers=world.user_b.headers).status_code == 404
    assert client.patch(f"/v1/saved-searches/{mine['id']}", json={"email": "daily"},
                        headers=world.admin_a.headers).status_code == 404
    r = client.patch(f"/v1/saved-searches/{mine['id']}", json={"email": "daily"},
                     headers=world.user_b.headers)
    assert r.status_code == 200 and r.json()["email"] == "daily"
    bad = client.post("/v1/saved-searches", headers=world.user_b.headers,
                      json={"name": "x", "criteria": {"company_size": "huge"}})
    assert bad.status_code == 422
    assert client.post("/v1/saved-searches", json={"name": "x"}).status_code == 401
    assert client.delete(f"/v1/saved-searches/{mine['id']}",
                         headers=world.user_b.headers).status_code == 204
    assert db[c.SAVED_SEARCHES].find_one({"_id": mine["id"]}) is None


def test_cookie_session_save_needs_csrf(client, world):
    r = client.post("/v1/auth/login", json={"email": world.user_b.email,
                                            "password": "correct-horse-battery"})
    assert r.status_code == 200
    body = {"name": "x", "criteria": {}}
    assert client.post("/v1/saved-searches", json=body).status_code == 403
    assert client.post("/v1/saved-searches", json=body,
                       headers=csrf_headers(client)).status_code == 201


def test_a_failing_mailgun_loses_no_notice(client, db, world, settings, stores):
    _save(client, world.user_b)
    dead = Settings(**{**settings.model_dump(), "mailgun_base_url": "http://127.0.0.1:9/mg"})
    lead = listed_lead(db, world.partner_a)
    listings.announce_listed(db, dead, [db[c.LEADS].find_one({"_id": lead})])
    assert _notices(db) == [lead]
    assert _send_queued(db, dead) == 1
    mail = db[c.EMAILS].find_one({"template": "search_match"})
    assert mail["status"] == "failed"  # retried by the every-minute job
    assert httpx  # the sandbox mailbox is checked in the other tests

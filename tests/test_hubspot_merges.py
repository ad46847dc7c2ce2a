"""What real portals do besides the happy path, end to end over the sandbox and
nx-27017: merges (webhook and pull), restores, association changes, long association
lists, contact edits, and scopes enforced on every endpoint (issue 17).

Every HubSpot action is done the way a HubSpot user does it (the sandbox's admin
routes act in the portal's UI and answer the webhook events HubSpot sends for it, or
the public merge endpoint through the SDK); the events go through the real inbox and
the shared ``apply_pending`` run (what the Dagster job and the standing worker call).
"""

from __future__ import annotations

import time

import httpx
import pytest
from hubspot import HubSpot
from hubspot.crm.deals import PublicMergeInput

from pc_core import collections as c
from pc_core import events
from pc_core.errors import BadRequest
from pc_core.hubspot.connection.oauth import PartnerTokens
from pc_core.hubspot.connection.transport import HubSpotApi, HubSpotCallError
from pc_core.hubspot.lead_build.deal_links import DEAL_LINKS
from pc_core.hubspot.lead_build.lead_builder import lead_id_for_deal
from pc_core.hubspot.sync_back.cross_partner import BUYER_STAGE_PROPERTY, sync_buyer
from pc_core.hubspot.sync_back.reverse_mapping import ReverseStages
from pc_core.hubspot.webhooks.apply import apply_pending
from pc_core.hubspot.webhooks.ingest import PortalDirectory, parse_batch, store_events
from pc_core.ids import new_id
from pc_core.marketplace import leadstate
from pc_core.timeutil import utcnow
from tests.conftest import start_sandbox, stop_sandbox
from tests.hubspot_helpers import Portal, connect, sync
from tests.test_hubspot_webhooks import PATH, live_api


@pytest.fixture
def hs(settings, hubspot_host):
    return settings.model_copy(update={"hubspot_base_url": hubspot_host})


# -- helpers --------------------------------------------------------------------------------


def act(hs, portal_id: str, action: str, **body) -> dict:
    """A HubSpot user's action in the portal's UI; answers the webhook events."""
    r = httpx.post(f"{hs.hubspot_base_url}/_sandbox/portals/{portal_id}/{action}", json=body)
    r.raise_for_status()
    return r.json()


def deliver(db, hs, partner_id: str, events: list[dict]) -> None:
    """HubSpot's delivery into the inbox, then the webhook run."""
    stored = store_events(db, events, PortalDirectory())
    assert stored.stored == len(events)
    apply_pending(db, hs, partner_id)


def deals_of(hs, portal: Portal, limit: int = 100) -> list[dict]:
    r = httpx.get(f"{hs.hubspot_base_url}/crm/v3/objects/deals", headers=portal.headers,
                  params={"limit": limit, "associations": "contacts",
                          "properties": "dealname,hs_merged_object_ids"})
    return r.json()["results"]


def leads(db, partner_id: str) -> dict[str, dict]:
    return {d["hubspot_deal_id"]: d for d in db[c.LEADS].find({"partner_id": partner_id})}


def sell(db, lead: dict, buyer_id: str) -> dict:
    purchase = {"_id": new_id(), "lead_id": lead["_id"], "buyer_partner_id": buyer_id,
                "seller_partner_id": lead["partner_id"], "price_cents": 5000,
                "amount_cents": 5000, "status": "completed", "created_at": utcnow()}
    db[c.PURCHASES].insert_one(purchase)
    sold = leadstate.sell(db, lead, purchase, utcnow())
    assert sold is not None
    return purchase


def sellable(db, partner_id: str) -> list[dict]:
    return sorted((d for d in db[c.LEADS].find({"partner_id": partner_id})
                   if d["status"] in ("listed", "open") and d.get("contact_email")),
                  key=lambda d: (d["status"] != "listed", d["_id"]))


def assert_folded(db, partner_id: str, canonical: str, gone: list[str], before: int) -> dict:
    """One lead at the canonical deal, none at the merged-away ids, nothing pointing at
    them, and one lead fewer than before."""
    by_deal = leads(db, partner_id)
    assert len(by_deal) == before - 1
    assert not set(gone) & set(by_deal)
    lead = db[c.LEADS].find_one({"_id": lead_id_for_deal(partner_id, canonical)})
    assert lead is not None and set(gone) <= set(lead["hubspot_merged_ids"])
    dead = [lead_id_for_deal(partner_id, g) for g in gone]
    for name in (c.PURCHASES, c.RESERVATIONS, c.STAGE_EVENTS, DEAL_LINKS, c.CRM_DELIVERIES):
        assert db[name].count_documents({"lead_id": {"$in": dead}}) == 0, name
    assert db[c.HUBSPOT_DEALS].count_documents(
        {"_id": {"$in": [f"{partner_id}:{g}" for g in gone]}}) == 0
    return lead


# -- 1. merges -----------------------------------------------------------------------------


def test_the_sandbox_merges_deals_as_hubspot_documents(db, hs, world):
    portal = Portal(hs, connect(db, hs, world.partner_a, deals=6, contacts=6))
    a, b = deals_of(hs, portal)[:2]
    contacts = {x["id"] for d in (a, b) for x in d["associations"]["contacts"]["results"]}
    client = HubSpot(access_token=portal.headers["Authorization"][7:],
                     host=hs.hubspot_base_url)
    merged = client.crm.deals.basic_api.merge(public_merge_input=PublicMergeInput(
        primary_object_id=b["id"], object_id_to_merge=a["id"]))
    new_id_ = merged.id
    assert new_id_ not in (a["id"], b["id"])  # a new canonical deal
    aliases = portal.deal(new_id_, "hs_merged_object_ids")["properties"]["hs_merged_object_ids"]
    assert set(aliases.split(";")) == {a["id"], b["id"]}
    # a read of a merged-away id answers with the canonical deal
    assert portal.deal(a["id"])["id"] == new_id_
    # its associations moved; read by the old id they are empty
    base = f"{hs.hubspot_base_url}/crm/v4/objects/deals"
    moved = httpx.get(f"{base}/{new_id_}/associations/contacts", headers=portal.headers).json()
    assert {str(x["toObjectId"]) for x in moved["results"]} == contacts
    old = httpx.get(f"{base}/{a['id']}/associations/contacts", headers=portal.headers).json()
    assert old["results"] == []
    listed = {d["id"] for d in deals_of(hs, portal)}
    assert new_id_ in listed and not {a["id"], b["id"]} & listed


def test_a_merge_webhook_leaves_one_lead_that_keeps_its_sale(db, hs, world, redis_conn):
    seller, buyer = world.partner_a, world.partner_b
    portal_id = connect(db, hs, seller, deals=12, contacts=10)
    sync(db, hs, seller)
    sold_lead, other = sellable(db, seller)[:2]
    purchase = sell(db, sold_lead, buyer)
    before = len(leads(db, seller))
    a, b = sold_lead["hubspot_deal_id"], other["hubspot_deal_id"]
    # the user merges the sold lead's deal into another one (that one is primary)
    out = act(hs, portal_id, "merge", object_type="deals", primary_id=b, merge_id=a)
    pubsub = redis_conn.pubsub()
    pubsub.subscribe(events.CHANNEL)
    (event,) = out["events"]
    assert event["subscriptionType"] == "deal.merge"
    assert set(event["mergedObjectIds"]) == {int(a)} and event["primaryObjectId"] == int(b)
    deliver(db, hs, seller, out["events"])
    # HubSpot's retry of the same delivery is a no-op in the inbox
    assert store_events(db, out["events"], PortalDirectory()).duplicates == 1
    # open marketplace pages and lead pages drop the folded-away lead ids
    published = []
    while (message := pubsub.get_message(timeout=0.5)) is not None:
        if message["type"] == "message":
            published.append(message["data"].decode() if isinstance(message["data"], bytes)
                             else str(message["data"]))
    for dead in (sold_lead["_id"], other["_id"]):
        assert any(events.LEAD_UNLISTED in m and dead in m for m in published), dead

    lead = assert_folded(db, seller, out["id"], [a, b], before)
    assert lead["status"] == "sold" and lead["buyer_partner_id"] == buyer
    assert db[c.PURCHASES].find_one({"_id": purchase["_id"]})["lead_id"] == lead["_id"]
    assert db[c.STAGE_EVENTS].count_documents({"lead_id": lead["_id"]}) >= 1
    # the next scheduled pull agrees: still one lead, nothing re-created at a dead id
    sync(db, hs, seller)
    assert len(leads(db, seller)) == before - 1
    # a late redelivery of events about the dead ids changes nothing
    late = [{**event, "eventId": event["eventId"] + 1, "subscriptionType": "deal.propertyChange",
             "objectId": int(a), "propertyName": "amount"}]
    deliver(db, hs, seller, late)
    assert len(leads(db, seller)) == before - 1
    assert db[c.LEADS].find_one({"_id": lead_id_for_deal(seller, a)}) is None


def test_the_merge_endpoint_sends_a_signed_merge_webhook_the_api_takes(db, settings, world):
    """The public merge endpoint (as another app or a user's tool calls it) makes the
    sandbox send ``deal.merge`` to the app's webhook URL, signed; the real API stores
    it and the webhook run folds the two leads."""
    partner = world.partner_a
    with live_api(settings) as api_url:
        proc, sandbox = start_sandbox({"PC_SANDBOX_HUBSPOT_WEBHOOK_URL": api_url + PATH})
        try:
            hs = settings.model_copy(update={"hubspot_base_url": f"{sandbox}/hubspot"})
            portal = Portal(hs, connect(db, hs, partner, deals=8, contacts=8, seed=13))
            sync(db, hs, partner)
            before = len(leads(db, partner))
            first, second = sorted(leads(db, partner))[:2]
            client = HubSpot(access_token=portal.headers["Authorization"][7:],
                             host=hs.hubspot_base_url)
            merged = client.crm.deals.basic_api.merge(public_merge_input=PublicMergeInput(
                primary_object_id=first, object_id_to_merge=second))
            stored = db[c.WEBHOOK_EVENTS].find_one({"partner_id": partner,
                                                    "subscription_type": "deal.merge"})
            assert stored is not None and stored["object_id"] == merged.id
            assert set(stored["related_ids"]) == {first, second}
            apply_pending(db, hs, partner)
            assert_folded(db, partner, merged.id, [first, second], before)
        finally:
            stop_sandbox(proc)


def test_a_merge_seen_only_by_the_pull_is_folded_the_same_way(db, hs, world):
    partner = world.partner_a
    portal = Portal(hs, connect(db, hs, partner, deals=10, contacts=8, seed=11))
    sync(db, hs, partner)
    before = len(leads(db, partner))
    first, second = sorted(leads(db, partner))[:2]
    client = HubSpot(access_token=portal.headers["Authorization"][7:],
                     host=hs.hubspot_base_url)
    merged = client.crm.deals.basic_api.merge(public_merge_input=PublicMergeInput(
        primary_object_id=first, object_id_to_merge=second))
    sync(db, hs, partner)  # no webhook: the incremental pull meets the canonical deal
    assert_folded(db, partner, merged.id, [first, second], before)


def test_a_contact_merge_moves_the_lead_to_the_surviving_contact(db, hs, world):
    partner = world.partner_a
    portal_id = connect(db, hs, partner, deals=8, contacts=12, seed=4)
    sync(db, hs, partner)
    lead = next(d for d in db[c.LEADS].find({"partner_id": partner})
                if d.get("hubspot_contact_id"))
    used = {d.get("hubspot_contact_id") for d in db[c.LEADS].find({"partner_id": partner})}
    survivor = next(str(d["hubspot_id"]) for d in db[c.HUBSPOT_CONTACTS].find(
        {"partner_id": partner}) if str(d["hubspot_id"]) not in used)
    gone = lead["hubspot_contact_id"]
    out = act(hs, portal_id, "merge", object_type="contacts", primary_id=survivor,
              merge_id=gone)
    assert out["id"] == survivor
    deliver(db, hs, partner, out["events"])
    after = db[c.LEADS].find_one({"_id": lead["_id"]})
    assert after["hubspot_contact_id"] == survivor
    raw = db[c.HUBSPOT_CONTACTS].find_one({"_id": f"{partner}:{survivor}"})
    assert after["contact_email"] == raw["properties"]["email"].lower()
    assert db[c.HUBSPOT_CONTACTS].find_one({"_id": f"{partner}:{gone}"}) is None
    assert db[c.LEADS].count_documents({"partner_id": partner, "hubspot_contact_id": gone}) == 0


def test_merges_of_a_sold_leads_deal_reach_the_buyers_copy(db, hs, world):
    """The seller merges the sold lead's deal, then the buyer merges its copy: the
    buyer's progress still reaches the seller, on the seller's canonical deal."""
    seller, buyer = world.partner_a, world.partner_b
    seller_id = connect(db, hs, seller, seed=3)
    buyer_id = connect(db, hs, buyer, deals=10, contacts=8, seed=5)
    seller_portal, buyer_portal = Portal(hs, seller_id), Portal(hs, buyer_id)
    sync(db, hs, seller)
    sync(db, hs, buyer)
    lead, other = sellable(db, seller)[:2]
    sell(db, lead, buyer)
    assert sync_buyer(db, hs, buyer).delivered == 1

    # the seller merges the sold lead's deal into another deal
    out = act(hs, seller_id, "merge", object_type="deals", primary_id=other["hubspot_deal_id"],
              merge_id=lead["hubspot_deal_id"])
    deliver(db, hs, seller, out["events"])
    canonical = lead_id_for_deal(seller, out["id"])
    sold = db[c.LEADS].find_one({"_id": canonical})
    assert sold["status"] == "sold"
    link = db[DEAL_LINKS].find_one({"buyer_partner_id": buyer})
    assert link["lead_id"] == canonical

    # the buyer merges its copy with one of its own deals (the copy is primary)
    copy_id = sold["buyer_hubspot_deal_id"]
    own = next(d for d in leads(db, buyer))
    bout = act(hs, buyer_id, "merge", object_type="deals", primary_id=copy_id, merge_id=own)
    deliver(db, hs, buyer, bout["events"])
    link = db[DEAL_LINKS].find_one({"buyer_partner_id": buyer})
    assert link["_id"] == f"{buyer}:{bout['id']}" and link["lead_id"] == canonical
    assert db[c.LEADS].find_one({"_id": canonical})["buyer_hubspot_deal_id"] == bout["id"]

    # the buyer moves the canonical copy; the seller's canonical deal gets the stage
    copy = buyer_portal.deal(bout["id"])["properties"]
    target = ReverseStages(db, buyer).stage_for(copy["pipeline"], "proposal")
    buyer_portal.update_deal(bout["id"], dealstage=target)
    sync(db, hs, buyer)
    relay = sync_buyer(db, hs, buyer)
    assert (relay.relayed, relay.errors) == (1, [])
    props = seller_portal.deal(out["id"], "dealname", BUYER_STAGE_PROPERTY)["properties"]
    assert props[BUYER_STAGE_PROPERTY] == "proposal"
    assert db[c.LEADS].find_one({"_id": canonical})["buyer_stage"] == "proposal"


# -- 2. restores, association changes, long association lists, contact edits ----------------


def test_a_restored_deal_brings_its_lead_back_as_it_was(db, hs, world):
    partner = world.partner_a
    portal_id = connect(db, hs, partner, deals=8, contacts=8, seed=6)
    portal = Portal(hs, portal_id)
    sync(db, hs, partner)
    lead = sellable(db, partner)[0]
    deal_id = lead["hubspot_deal_id"]
    httpx.delete(f"{hs.hubspot_base_url}/crm/v3/objects/deals/{deal_id}",
                 headers=portal.headers).raise_for_status()
    deletion = {"eventId": 77, "subscriptionId": 4100003, "portalId": int(portal_id),
                "appId": 1000001, "occurredAt": int(time.time() * 1000),
                "subscriptionType": "deal.deletion", "attemptNumber": 0,
                "objectId": int(deal_id), "changeFlag": "DELETED", "changeSource": "CRM_UI"}
    deliver(db, hs, partner, [deletion])
    assert db[c.LEADS].find_one({"_id": lead["_id"]})["status"] == "archived"

    out = act(hs, portal_id, "restore", object_type="deals", ids=[deal_id])
    assert [e["subscriptionType"] for e in out["events"]] == ["deal.restore"]
    deliver(db, hs, partner, out["events"])
    back = db[c.LEADS].find_one({"_id": lead["_id"]})
    for name in ("status", "stage", "title", "hubspot_contact_id", "contact_email"):
        assert back[name] == lead[name], name


def test_a_restored_contact_is_back_on_its_deals_lead(db, hs, world):
    partner = world.partner_a
    portal_id = connect(db, hs, partner, deals=10, contacts=10, seed=14)
    portal = Portal(hs, portal_id)
    sync(db, hs, partner)
    lead = next(d for d in db[c.LEADS].find({"partner_id": partner})
                if len(db[c.HUBSPOT_DEALS].find_one({"_id": f"{partner}:{d['hubspot_deal_id']}"})[
                    "associations"]["contacts"]) == 1)
    contact_id = lead["hubspot_contact_id"]
    httpx.delete(f"{hs.hubspot_base_url}/crm/v3/objects/contacts/{contact_id}",
                 headers=portal.headers).raise_for_status()
    deletion = {"eventId": 78, "subscriptionId": 4100013, "portalId": int(portal_id),
                "appId": 1000001, "occurredAt": int(time.time() * 1000),
                "subscriptionType": "contact.deletion", "attemptNumber": 0,
                "objectId": int(contact_id), "changeFlag": "DELETED", "changeSource": "CRM_UI"}
    deliver(db, hs, partner, [deletion])
    assert db[c.LEADS].find_one({"_id": lead["_id"]})["hubspot_contact_id"] is None

    out = act(hs, portal_id, "restore", object_type="contacts", ids=[contact_id])
    deliver(db, hs, partner, out["events"])
    back = db[c.LEADS].find_one({"_id": lead["_id"]})
    assert back["hubspot_contact_id"] == contact_id
    assert back["contact_email"] == lead["contact_email"]


def test_an_association_change_rereads_the_deals_contacts(db, hs, world):
    partner = world.partner_a
    portal_id = connect(db, hs, partner, deals=8, contacts=12, seed=8)
    sync(db, hs, partner)
    lead = next(d for d in db[c.LEADS].find({"partner_id": partner})
                if d.get("hubspot_contact_id"))
    used = {d.get("hubspot_contact_id") for d in db[c.LEADS].find({"partner_id": partner})}
    newcomer = next(str(d["hubspot_id"]) for d in db[c.HUBSPOT_CONTACTS].find(
        {"partner_id": partner}) if str(d["hubspot_id"]) not in used)
    deal_id = lead["hubspot_deal_id"]
    added = act(hs, portal_id, "associations", deal_id=deal_id, contact_ids=[newcomer])
    raw = db[c.HUBSPOT_DEALS].find_one({"_id": f"{partner}:{deal_id}"})
    removed = act(hs, portal_id, "associations", deal_id=deal_id, remove=True,
                  contact_ids=[c_ for c_ in raw["associations"]["contacts"]])
    deliver(db, hs, partner, added["events"] + removed["events"])
    after = db[c.LEADS].find_one({"_id": lead["_id"]})
    assert after["hubspot_contact_id"] == newcomer
    email = db[c.HUBSPOT_CONTACTS].find_one({"_id": f"{partner}:{newcomer}"})[
        "properties"]["email"]
    assert after["contact_email"] == email.lower()


def test_a_deal_with_hundreds_of_contacts_is_read_to_the_last_one(db, hs, world):
    partner = world.partner_a
    portal_id = connect(db, hs, partner, deals=3, contacts=360, seed=9)
    portal = Portal(hs, portal_id)
    deal_id = deals_of(hs, portal)[0]["id"]
    everyone = []
    after = None
    while True:  # every contact of the portal
        page = httpx.get(f"{hs.hubspot_base_url}/crm/v3/objects/contacts",
                         headers=portal.headers,
                         params={"limit": 100, **({"after": after} if after else {})}).json()
        everyone += [str(d["id"]) for d in page["results"]]
        after = ((page.get("paging") or {}).get("next") or {}).get("after")
        if not after:
            break
    act(hs, portal_id, "associations", deal_id=deal_id, contact_ids=everyone[:300])
    expected = set(everyone[:300])
    # full pull: the list answer inlines one page of them, the rest is paged
    sync(db, hs, partner)
    raw = db[c.HUBSPOT_DEALS].find_one({"_id": f"{partner}:{deal_id}"})
    assert expected <= set(raw["associations"]["contacts"])
    # the webhook run (v4 batch reads, paged with ``after``) reads them all too
    more = act(hs, portal_id, "associations", deal_id=deal_id, contact_ids=everyone[300:350])
    deliver(db, hs, partner, more["events"])
    raw = db[c.HUBSPOT_DEALS].find_one({"_id": f"{partner}:{deal_id}"})
    assert set(everyone[:350]) <= set(raw["associations"]["contacts"])
    assert len(raw["associations"]["contacts"]) == len(set(raw["associations"]["contacts"]))


def test_a_contact_edit_reaches_its_lead_through_the_webhook_in_seconds(db, hs, world):
    partner = world.partner_a
    portal_id = connect(db, hs, partner, deals=6, contacts=6, seed=12)
    sync(db, hs, partner)
    lead = next(d for d in db[c.LEADS].find({"partner_id": partner})
                if d.get("hubspot_contact_id"))
    started = time.monotonic()
    out = act(hs, portal_id, "edit", object_type="contacts", id=lead["hubspot_contact_id"],
              properties={"phone": "+1 555 0100 999", "lastname": "Merged-Smith"})
    assert {e["propertyName"] for e in out["events"]} == {"phone", "lastname"}
    deliver(db, hs, partner, out["events"])
    after = db[c.LEADS].find_one({"_id": lead["_id"]})
    assert after["contact_phone"] == "+1 555 0100 999"
    assert after["contact_name"].endswith("Merged-Smith")
    assert time.monotonic() - started < 10


def test_malformed_merge_events_are_refused_before_anything_is_stored():
    for bad in (b'[{"subscriptionType":"deal.merge","mergedObjectIds":"1;2"}]',
                b'[{"subscriptionType":"deal.merge","mergedObjectIds":[-1]}]',
                b'[{"subscriptionType":"deal.associationChange","fromObjectId":"x"}]'):
        with pytest.raises(BadRequest):
            parse_batch(bad)


# -- 3. scopes -----------------------------------------------------------------------------


@pytest.mark.parametrize(("scopes", "method", "path", "body", "needed"), [
    (["crm.objects.deals.read", "crm.objects.deals.write"], "GET",
     "/crm/v3/properties/deals/dealname", None, "crm.schemas.deals.read"),
    (["crm.objects.deals.read", "crm.objects.deals.write", "crm.schemas.deals.read"], "POST",
     "/crm/v3/properties/deals", {"name": "x", "label": "x", "type": "string",
                                  "fieldType": "text", "groupName": "dealinformation"},
     "crm.schemas.deals.write"),
    (["crm.objects.contacts.read"], "GET", "/crm/v3/pipelines/deals", None,
     "crm.objects.deals.read"),
    (["crm.objects.deals.read"], "POST", "/crm/v4/associations/deals/contacts/batch/read",
     {"inputs": [{"id": "1"}]}, "crm.objects.contacts.read"),
    (["crm.objects.contacts.read", "crm.objects.deals.read"], "POST",
     "/crm/v3/objects/notes/batch/create", {"inputs": []}, "crm.objects.contacts.write"),
    (["crm.objects.deals.read"], "POST", "/crm/v3/objects/deals/merge",
     {"primaryObjectId": "1", "objectIdToMerge": "2"}, "crm.objects.deals.write"),
])
def test_the_sandbox_enforces_scopes_on_every_endpoint(hubspot_host, scopes, method, path,
                                                       body, needed):
    portal = httpx.post(f"{hubspot_host}/_sandbox/portals",
                        json={"contacts": 2, "deals": 2, "seed": 1}).json()
    token = httpx.post(f"{hubspot_host}/_sandbox/portals/{portal['id']}/tokens",
                       json={"scopes": scopes}).json()["access_token"]
    r = httpx.request(method, f"{hubspot_host}{path}", json=body,
                      headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403
    err = r.json()
    assert err["category"] == "MISSING_SCOPES" and err["status"] == "error"
    assert needed in err["errors"][0]["context"]["requiredGranularScopes"]


def test_a_connection_without_the_schema_scopes_is_told_which_scope_it_lacks(db, hs, world):
    """A partner connected before ``crm.schemas.deals.*`` was asked for: the relay's
    property read is refused, and the error names the scope to grant."""
    connect(db, hs, world.partner_a, deals=2, contacts=2, scopes=[
        "oauth", "crm.objects.deals.read", "crm.objects.deals.write"])
    api = HubSpotApi(hs, PartnerTokens(db, hs, world.partner_a))
    with pytest.raises(HubSpotCallError) as err:
        api.get_property("deals", BUYER_STAGE_PROPERTY)
    assert err.value.status == 403 and "crm.schemas.deals.read" in str(err.value)


def test_a_deal_first_seen_deleted_comes_back_when_restored(db, hs, world):
    """Found by the soak (seed 2088745251): a deal created and deleted between two
    syncs got an archived lead with nothing to restore to, and stayed archived."""
    partner = world.partner_a
    portal_id = connect(db, hs, partner, deals=3, contacts=3, seed=9)
    portal = Portal(hs, portal_id)
    sync(db, hs, partner)
    base = f"{hs.hubspot_base_url}/crm/v3/objects/deals"
    created = httpx.post(base, headers=portal.headers,
                         json={"properties": {"dealname": "Born and gone"}})
    created.raise_for_status()
    deal_id = created.json()["id"]
    httpx.delete(f"{base}/{deal_id}", headers=portal.headers).raise_for_status()
    sync(db, hs, partner)
    lead = db[c.LEADS].find_one({"_id": lead_id_for_deal(partner, deal_id)})
    assert lead is not None and lead["status"] == "archived"

    out = act(hs, portal_id, "restore", object_type="deals", ids=[deal_id])
    deliver(db, hs, partner, out["events"])
    back = db[c.LEADS].find_one({"_id": lead["_id"]})
    assert back["status"] != "archived"
    assert back["title"] == "Born and gone"

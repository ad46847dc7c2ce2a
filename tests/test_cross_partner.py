"""Cross-partner sync end to end over two sandbox portals and nx-27017: a lead of A's
sold to B (the purchase made directly through pc_core) becomes a deal in B's portal;
when B moves that deal, A's deal gets B's canonical stage in ``pc_buyer_stage`` and a
note, A's view of the lead shows it, and nothing else of B's CRM crosses over."""

from __future__ import annotations

import httpx
import pytest
from dagster import DagsterInstance, build_sensor_context

from pc_core import collections as c
from pc_core.hubspot.lead_build.deal_links import DEAL_LINKS
from pc_core.hubspot.lead_build.lead_builder import lead_id_for_deal
from pc_core.hubspot.sync_back.cross_partner import BUYER_STAGE_PROPERTY, sync_buyer
from pc_core.hubspot.sync_back.reverse_mapping import ReverseStages
from pc_core.ids import new_id
from pc_core.marketplace import leadstate
from pc_core.models.leads import LeadOut
from pc_core.timeutil import utcnow
from pc_pipelines.lib.partitions import partners_partitions
from pc_pipelines.resources import PlatformResource
from pc_pipelines.sync_back.sensors import cross_partner_sensor
from tests.hubspot_helpers import Portal, connect, sync


@pytest.fixture
def hs(settings, hubspot_host):
    return settings.model_copy(update={"hubspot_base_url": hubspot_host})


def _sell(db, lead, buyer_id):
    """A completed sale, as the marketplace's fulfilment records it on the lead."""
    purchase = {"_id": new_id(), "lead_id": lead["_id"], "buyer_partner_id": buyer_id,
                "seller_partner_id": lead["partner_id"], "price_cents": 5000,
                "amount_cents": 5000, "status": "completed", "created_at": utcnow()}
    db[c.PURCHASES].insert_one(purchase)
    sold = leadstate.sell(db, lead, purchase, utcnow())
    assert sold is not None
    return sold


def test_a_buyers_progress_reaches_the_seller_and_nothing_else(db, hs, world, tmp_path,
                                                               monkeypatch):
    monkeypatch.setenv("PC_BACKSTOP_AFTER_SECONDS", "0")  # the launch rule, not its threshold
    seller, buyer = world.partner_a, world.partner_b
    seller_portal = Portal(hs, connect(db, hs, seller, seed=3))
    buyer_portal = Portal(hs, connect(db, hs, buyer, deals=10, contacts=8, seed=5))
    sync(db, hs, seller)
    sync(db, hs, buyer)
    candidates = [d for d in db[c.LEADS].find({"partner_id": seller})
                  if d["status"] in ("listed", "open") and d.get("contact_email")]
    lead = min(candidates, key=lambda d: d["status"] != "listed")  # a listed one if any
    seller_before = seller_portal.deal(lead["hubspot_deal_id"])["properties"]
    _sell(db, lead, buyer)

    # The sale is delivered to the buyer's CRM: a deal and a note with the contact.
    first = sync_buyer(db, hs, buyer)
    assert (first.delivered, first.errors) == (1, [])
    buyer_deal_id = db[c.LEADS].find_one({"_id": lead["_id"]})["buyer_hubspot_deal_id"]
    buyer_deal = buyer_portal.deal(buyer_deal_id)["properties"]
    assert buyer_deal["dealname"] == lead["title"]
    (note,) = buyer_portal.notes_of(buyer_deal_id)
    assert lead["contact_email"] in note
    assert sync_buyer(db, hs, buyer).delivered == 0  # delivered once

    # The buyer's own sync sees the deal but does not make it a lead of the buyer's.
    built = sync(db, hs, buyer)
    assert built.linked == 1
    assert db[c.LEADS].find_one({"_id": lead_id_for_deal(buyer, buyer_deal_id)}) is None

    # The buyer moves the deal; its sync flags the link; the sensor asks for a run.
    stages = ReverseStages(db, buyer)
    target = stages.stage_for(buyer_deal["pipeline"], "proposal")
    buyer_portal.update_deal(buyer_deal_id, dealstage=target, amount="999999",
                             dealname="Buyer's private name")
    sync(db, hs, buyer)
    assert db[DEAL_LINKS].find_one({"buyer_partner_id": buyer})["pending"] in (True, 1)
    with DagsterInstance.local_temp(str(tmp_path)) as instance:
        instance.add_dynamic_partitions(partners_partitions.name, [buyer])
        [request] = cross_partner_sensor(build_sensor_context(
            instance=instance, resources={"platform": PlatformResource.of(hs)})).run_requests
        assert request.tags["pc/partners"] == "1" and "pc/partner_id" not in request.tags

    relay = sync_buyer(db, hs, buyer)
    assert (relay.relayed, relay.seller_deals_updated, relay.errors) == (1, 1, [])
    seller_after = seller_portal.deal(lead["hubspot_deal_id"], "dealname", "dealstage",
                                      "pipeline", "amount", BUYER_STAGE_PROPERTY)["properties"]
    assert seller_after[BUYER_STAGE_PROPERTY] == "proposal"
    # Only the canonical stage crossed over: the seller's deal keeps its own values.
    for name in ("dealname", "dealstage", "pipeline", "amount"):
        assert seller_after[name] == seller_before[name]
    assert any("proposal" in n for n in seller_portal.notes_of(lead["hubspot_deal_id"]))
    prop = httpx.get(f"{hs.hubspot_base_url}/crm/v3/properties/deals/{BUYER_STAGE_PROPERTY}",
                     headers=seller_portal.headers)
    assert prop.status_code == 200
    view = LeadOut.from_doc(db[c.LEADS].find_one({"_id": lead["_id"]}))
    assert view.buyer_stage == "proposal"
    assert view.amount_cents == lead["amount_cents"] and view.title == lead["title"]
    link = db[DEAL_LINKS].find_one({"buyer_partner_id": buyer})
    assert link["relayed_stage"] == "proposal" and not link["pending"]

    # Nothing new: nothing relayed again.
    assert sync_buyer(db, hs, buyer).relayed == 0

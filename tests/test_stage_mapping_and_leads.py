"""Stage mapping (suggestions, unmapped stages, the API) and raw deals → leads."""

from __future__ import annotations

import pytest

from pc_core import collections as c
from pc_core.hubspot.lead_build.lead_builder import (
    build_leads,
    company_size_bucket,
    lead_id_for_deal,
)
from pc_core.hubspot.lead_build.stage_mapping import (
    stage_lookup,
    store_pipeline_stages,
    suggest_stage,
    unmapped_stages,
)
from pc_core.stages import Stage
from pc_core.timeutil import utcnow


def _stages(*extra):
    base = [
        ("default", "Sales", "appointmentscheduled", "Appointment scheduled", 0.2, False),
        ("default", "Sales", "qualifiedtobuy", "Qualified to buy", 0.4, False),
        ("default", "Sales", "closedwon", "Closed won", 1.0, True),
        ("default", "Sales", "closedlost", "Closed lost", 0.0, True),
        ("77", "Partners", "901", "Not a fit", 0.0, True),
    ]
    return [
        {"pipeline_id": p, "pipeline_label": pl, "stage_id": s, "stage_label": sl,
         "display_order": i, "probability": prob, "is_closed": closed}
        for i, (p, pl, s, sl, prob, closed) in enumerate([*base, *extra])
    ]


@pytest.mark.parametrize("stage_id,label,prob,closed,expected", [
    ("closedwon", "Closed won", 1.0, True, Stage.WON),
    ("closedlost", "Closed lost", 0.0, True, Stage.LOST),
    ("123", "Proposal sent", 0.6, False, Stage.PROPOSAL),
    ("124", "Disqualified", 0.0, True, Stage.NON_FIT),
    ("125", "Stage X", 1.0, True, Stage.WON),
    ("126", "Stage Y", 0.0, True, Stage.LOST),
    ("127", "Mystery", None, None, None),
])
def test_suggestions(stage_id, label, prob, closed, expected):
    assert suggest_stage(stage_id, label, prob, closed) == expected


def test_first_sync_maps_everything_later_stages_start_unmapped(db, world):
    assert store_pipeline_stages(db, world.partner_a, _stages()) == 5
    lookup = stage_lookup(db, world.partner_a)
    assert lookup[("default", "closedwon")] == "won"
    assert lookup[("77", "901")] == "non_fit"
    assert unmapped_stages(db, world.partner_a) == []
    extra = ("77", "Partners", "902", "Waiting on legal", 0.8, False)
    assert store_pipeline_stages(db, world.partner_a, _stages(extra)) == 1
    missing = unmapped_stages(db, world.partner_a)
    assert [(m["stage_id"], m["canonical_stage"], m["suggested_stage"]) for m in missing] == [
        ("902", None, "proposal")]
    # Running again adds nothing and keeps the mapping.
    assert store_pipeline_stages(db, world.partner_a, _stages(extra)) == 0
    assert stage_lookup(db, world.partner_a)[("default", "closedwon")] == "won"


def test_stage_mapping_api(client, db, world):
    store_pipeline_stages(db, world.partner_a, _stages())
    store_pipeline_stages(db, world.partner_a, _stages(("77", "P", "902", "Legal", 0.8, False)))
    url = f"/v1/partners/{world.partner_a}/stage-mapping"
    items = client.get(url, headers=world.user_a.headers).json()
    by_stage = {i["stage_id"]: i for i in items}
    assert by_stage["902"]["canonical_stage"] is None
    assert by_stage["closedwon"]["canonical_stage"] == "won"
    body = [{"pipeline_id": "77", "stage_id": "902", "canonical_stage": "negotiation"}]
    assert client.put(url, json=body, headers=world.user_a.headers).status_code == 403
    assert client.put(url, json=body, headers=world.admin_b.headers).status_code == 404
    assert client.get(url, headers=world.admin_b.headers).status_code == 404
    bad = [{"pipeline_id": "77", "stage_id": "nope", "canonical_stage": "won"}]
    assert client.put(url, json=bad, headers=world.admin_a.headers).status_code == 400
    wrong = [{"pipeline_id": "77", "stage_id": "902", "canonical_stage": "finished"}]
    assert client.put(url, json=wrong, headers=world.admin_a.headers).status_code == 422
    r = client.put(url, json=body, headers=world.admin_a.headers)
    assert r.status_code == 200
    assert {i["stage_id"]: i["canonical_stage"] for i in r.json()}["902"] == "negotiation"
    assert unmapped_stages(db, world.partner_a) == []


def _raw(partner, kind, hubspot_id, properties, **extra):
    now = utcnow()
    return {"_id": f"{partner}:{hubspot_id}", "partner_id": partner, "hubspot_id": hubspot_id,
            "properties": properties, "archived": False, "hs_updated_at": now,
            "pulled_at": now, "dirty": True, **extra}


def _deal(partner, deal_id, stage, contact=None, amount="1500.50", pipeline="default", **kw):
    props = {"dealname": f"Deal {deal_id}", "amount": amount, "dealstage": stage,
             "pipeline": pipeline, **kw}
    return _raw(partner, "deals", deal_id, props,
                associations={"contacts": [contact] if contact else []})


def test_deals_become_stage_mapped_leads(db, world):
    p = world.partner_a
    store_pipeline_stages(db, p, _stages())
    db[c.HUBSPOT_CONTACTS].insert_many([
        _raw(p, "contacts", "501", {"firstname": "Ada", "lastname": "Lovelace",
                                     "email": "ADA@acme.example.com", "company": "Acme",
                                     "numemployees": "120", "city": "London",
                                     "country": "UK", "industry": "SaaS"}),
    ])
    db[c.HUBSPOT_DEALS].insert_many([
        _deal(p, "1", "closedwon", contact="501"),
        _deal(p, "2", "901", pipeline="77", amount="99"),
        _deal(p, "3", "mystery-stage", amount="not money"),
    ])
    stats = build_leads(db, p)
    assert (stats.created, stats.listed, stats.unmapped) == (3, 1, 1)
    won = db[c.LEADS].find_one({"_id": lead_id_for_deal(p, "1")})
    assert won["stage"] == "won" and won["status"] == "open"
    assert won["amount_cents"] == 150050
    assert won["contact_name"] == "Ada Lovelace"
    assert won["contact_email"] == "ada@acme.example.com"
    assert won["company"] == "Acme" and won["company_size"] == "51-200"
    assert won["location"] == "London, UK" and won["source"] == "hubspot"
    non_fit = db[c.LEADS].find_one({"_id": lead_id_for_deal(p, "2")})
    assert non_fit["stage"] == "non_fit" and non_fit["status"] == "listed"
    unknown = db[c.LEADS].find_one({"_id": lead_id_for_deal(p, "3")})
    assert unknown["stage_unmapped"] is True and unknown["amount_cents"] is None
    assert not list(db[c.HUBSPOT_DEALS].find({"partner_id": p, "dirty": True}))
    # Nothing dirty: nothing to do.
    again = build_leads(db, p)
    assert (again.created, again.updated) == (0, 0)


def test_changes_flow_into_existing_leads(db, world):
    p = world.partner_a
    store_pipeline_stages(db, p, _stages())
    db[c.HUBSPOT_CONTACTS].insert_one(_raw(p, "contacts", "501", {"firstname": "Ada",
                                                                  "email": "a@x.example.com"}))
    db[c.HUBSPOT_DEALS].insert_one(_deal(p, "1", "appointmentscheduled", contact="501"))
    build_leads(db, p)
    # The deal moves to "Not a fit" and the contact's email changes.
    deal = db[c.HUBSPOT_DEALS].find_one({"_id": f"{p}:1"})
    props = {**deal["properties"], "dealstage": "901", "pipeline": "77"}
    db[c.HUBSPOT_DEALS].replace_one({"_id": deal["_id"]},
                                    {**deal, "properties": props, "dirty": True,
                                     "pulled_at": utcnow()})
    contact = db[c.HUBSPOT_CONTACTS].find_one({"_id": f"{p}:501"})
    db[c.HUBSPOT_CONTACTS].replace_one(
        {"_id": contact["_id"]},
        {**contact, "properties": {**contact["properties"], "email": "new@x.example.com"},
         "dirty": True, "pulled_at": utcnow()})
    stats = build_leads(db, p)
    assert stats.updated == 1
    assert stats.stage_changes == [{"lead_id": lead_id_for_deal(p, "1"),
                                    "from": "meeting_scheduled", "to": "non_fit"}]
    lead = db[c.LEADS].find_one({"_id": lead_id_for_deal(p, "1")})
    assert lead["status"] == "listed" and lead["contact_email"] == "new@x.example.com"


def test_a_sold_lead_keeps_its_status(db, world):
    p = world.partner_a
    store_pipeline_stages(db, p, _stages())
    db[c.HUBSPOT_DEALS].insert_one(_deal(p, "1", "901", pipeline="77"))
    build_leads(db, p)
    lead = db[c.LEADS].find_one({"_id": lead_id_for_deal(p, "1")})
    db[c.LEADS].replace_one({"_id": lead["_id"]}, {**lead, "status": "sold"})
    deal = db[c.HUBSPOT_DEALS].find_one({"_id": f"{p}:1"})
    db[c.HUBSPOT_DEALS].replace_one({"_id": deal["_id"]}, {**deal, "dirty": True, "properties": {
        **deal["properties"], "dealstage": "closedwon", "pipeline": "default"}})
    build_leads(db, p)
    lead = db[c.LEADS].find_one({"_id": lead_id_for_deal(p, "1")})
    assert lead["status"] == "sold" and lead["stage"] == "won"


def test_remapping_rebuilds_leads(client, db, world):
    p = world.partner_a
    store_pipeline_stages(db, p, _stages())
    db[c.HUBSPOT_DEALS].insert_one(_deal(p, "1", "qualifiedtobuy"))
    build_leads(db, p)
    assert db[c.LEADS].find_one({"_id": lead_id_for_deal(p, "1")})["stage"] == "contacted"
    remap = [{"pipeline_id": "default", "stage_id": "qualifiedtobuy",
              "canonical_stage": "meeting_held"}]
    client.put(f"/v1/partners/{p}/stage-mapping", headers=world.admin_a.headers, json=remap)
    build_leads(db, p)
    assert db[c.LEADS].find_one({"_id": lead_id_for_deal(p, "1")})["stage"] == "meeting_held"


@pytest.mark.parametrize("value,bucket", [("1-10", "1-10"), ("7", "1-10"), ("1,500", "1000+"),
                                          ("201", "201-500"),
                                          ("many", None), (None, None)])
def test_company_size_buckets(value, bucket):
    assert company_size_bucket(value) == bucket

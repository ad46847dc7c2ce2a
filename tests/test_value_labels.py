"""HubSpot's option labels (issue 21): the sync reads the portal's property definition
through the SDK (the sandbox answers ``GET /crm/v3/properties/deals/industry`` as
HubSpot documents it, with HubSpot's labels such as "Hospital & Health Care"), stores
the labels per partner, and the lead and listing answers carry the seller's label
beside the value; a value its portal does not label has none (the client shows a
readable form then)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pc_core import collections as c
from pc_core.hubspot.connection.oauth import PartnerTokens
from pc_core.hubspot.connection.value_labels import refresh_due, refresh_value_labels
from tests.hubspot_helpers import connect


@pytest.fixture
def hs_settings(settings, hubspot_host):
    return settings.model_copy(update={"hubspot_base_url": hubspot_host})


def _lead(client, account, **fields):
    r = client.post("/v1/leads", json={"title": "Clinic deal", **fields}, headers=account.headers)
    assert r.status_code == 201, r.text
    return r.json()


def test_the_portals_labels_reach_the_lead_and_listing_answers(client, db, world, hs_settings):
    connect(db, hs_settings, world.partner_a, deals=3, contacts=3)
    tokens = PartnerTokens(db, hs_settings, world.partner_a)
    read = refresh_value_labels(db, hs_settings, world.partner_a, tokens)
    assert read.read and read.error is None and read.labels == 15

    clinic = _lead(client, world.admin_a, industry="HOSPITAL_HEALTH_CARE")
    assert clinic["industry_label"] == "Hospital & Health Care"  # not "Hospital health care"
    vet = _lead(client, world.admin_a, industry="VETERINARY")  # not an option of the portal
    assert vet["industry_label"] is None
    items = client.get("/v1/leads", headers=world.user_a.headers).json()["items"]
    page = {i["id"]: i for i in items}
    assert page[clinic["id"]]["industry_label"] == "Hospital & Health Care"
    assert page[vet["id"]]["industry_label"] is None
    got = client.get(f"/v1/leads/{clinic['id']}", headers=world.user_a.headers).json()
    assert got["industry_label"] == "Hospital & Health Care"
    # Another partner's portal labels nothing of its own leads.
    theirs = _lead(client, world.admin_b, industry="HOSPITAL_HEALTH_CARE")
    assert theirs["industry_label"] is None

    # A buyer browsing the marketplace reads the seller's label.
    listed = client.patch(f"/v1/leads/{clinic['id']}", json={"status": "listed"},
                          headers=world.admin_a.headers)
    assert listed.status_code == 200, listed.text
    listings = client.get("/v1/marketplace/listings", headers=world.admin_b.headers).json()
    mine = [i for i in listings["items"] if i["id"] == clinic["id"]]
    assert mine and mine[0]["industry_label"] == "Hospital & Health Care"
    # Its reservation names it by the same words until the buyer may see its title.
    held = client.post("/v1/marketplace/reservations", json={"lead_id": clinic["id"]},
                       headers=world.admin_b.headers)
    assert held.status_code == 201, held.text
    reservations = client.get("/v1/marketplace/reservations",
                              headers=world.admin_b.headers).json()["items"]
    assert reservations[0]["lead_summary"].startswith("Hospital & Health Care")


def test_labels_are_read_again_only_when_due(db, world, hs_settings):
    connect(db, hs_settings, world.partner_a, deals=2, contacts=2)
    tokens = PartnerTokens(db, hs_settings, world.partner_a)
    assert refresh_value_labels(db, hs_settings, world.partner_a, tokens).read
    # The next syncs of the day ask HubSpot nothing.
    assert not refresh_value_labels(db, hs_settings, world.partner_a, tokens).read
    stored = db[c.CRM_VALUE_LABELS].find_one({"_id": world.partner_a})
    db[c.CRM_VALUE_LABELS].replace_one({"_id": world.partner_a}, {
        **stored, "fetched_at": stored["fetched_at"] - timedelta(hours=25)})
    assert refresh_due(db, hs_settings, world.partner_a)
    assert refresh_value_labels(db, hs_settings, world.partner_a, tokens).read


def test_a_failed_read_keeps_the_labels_and_the_sync_goes_on(db, world, hs_settings):
    # A token without crm.schemas.deals.read: HubSpot answers 403 MISSING_SCOPES.
    connect(db, hs_settings, world.partner_a, deals=2, contacts=2,
            scopes=["oauth", "crm.objects.deals.read", "crm.objects.contacts.read"])
    tokens = PartnerTokens(db, hs_settings, world.partner_a)
    out = refresh_value_labels(db, hs_settings, world.partner_a, tokens)
    assert out.read and out.error and "MISSING_SCOPES" in out.error
    assert db[c.CRM_VALUE_LABELS].find_one({"_id": world.partner_a}) is None

"""The HubSpot app in ``hubspot-app/`` is an uploadable developer project (platform
2025.2: ``hsproject.json``, an app component and a webhooks component) whose scopes and
subscriptions are exactly what the code needs: the scopes are derived by driving the
code's HubSpot calls against the scope-enforcing sandbox with a token that holds the
declared scopes and nothing else; the subscriptions from the properties the lead
builder reads (issue 17)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import httpx
import pytest

from pc_core import collections as c
from pc_core.hubspot.lead_build import lead_builder
from pc_core.hubspot.sync_back.cross_partner import sync_buyer
from pc_core.hubspot.sync_back.reverse_mapping import ReverseStages
from pc_core.hubspot.webhooks.apply import apply_pending
from pc_core.hubspot.webhooks.ingest import PortalDirectory, event_subject, store_events
from pc_core.hubspot.webhooks.subscriptions import (
    LEAD_CONTACT_PROPERTIES,
    LEAD_DEAL_PROPERTIES,
    subscriptions,
)
from pc_core.settings import Settings
from tests.hubspot_helpers import Portal, connect, sync
from tests.test_hubspot_merges import sell, sellable

PROJECT = Path(__file__).resolve().parents[1] / "hubspot-app"


def _json(path: Path) -> dict:
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def project() -> dict[str, dict]:
    """The project's files, found the way the HubSpot CLI finds them: ``srcDir`` from
    ``hsproject.json``, components as ``*-hsmeta.json`` files under it, by ``type``."""
    meta = _json(PROJECT / "hsproject.json")
    components: dict[str, dict] = {"project": meta}
    for path in sorted((PROJECT / meta["srcDir"]).rglob("*-hsmeta.json")):
        doc = _json(path)
        assert doc["type"] not in components, f"two {doc['type']} components"
        components[doc["type"]] = doc
    return components


@pytest.fixture
def hs(settings, hubspot_host):
    return settings.model_copy(update={"hubspot_base_url": hubspot_host})


def test_the_project_has_the_current_layout(project):
    assert project["project"]["platformVersion"] == "2025.2"
    assert project["project"]["name"]
    assert not (PROJECT / "app.json").exists()  # the legacy single-file app is gone
    app, hooks = project["app"], project["webhooks"]
    assert (PROJECT / "src/app/app-hsmeta.json").exists()
    assert app["uid"] and app["config"]["auth"]["type"] == "oauth"
    assert app["config"]["auth"]["redirectUrls"][0].endswith("/v1/integrations/hubspot/callback")
    assert hooks["uid"] and hooks["config"]["settings"]["targetUrl"].endswith(
        "/v1/webhooks/hubspot")
    assert 1 <= hooks["config"]["settings"]["maxConcurrentRequests"] <= 10
    assert (PROJECT / "README.md").exists()


def test_the_app_asks_for_the_scopes_the_connect_flow_requests(project):
    declared = project["app"]["config"]["auth"]["requiredScopes"]
    assert sorted(declared) == sorted(Settings().hubspot_scopes.split())
    assert {"crm.schemas.deals.read", "crm.schemas.deals.write"} <= set(declared)


def _read_properties() -> tuple[set[str], set[str]]:
    """Deal and contact properties ``lead_builder._frame`` reads (``p.get`` / ``cp.get``)."""
    tree = ast.parse(Path(lead_builder.__file__).read_text())
    frame = next(n for n in ast.walk(tree)
                 if isinstance(n, ast.FunctionDef) and n.name == "_frame")
    found: dict[str, set[str]] = {"p": set(), "cp": set()}
    for node in ast.walk(frame):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "get" and isinstance(node.func.value, ast.Name)
                and node.func.value.id in found and node.args
                and isinstance(node.args[0], ast.Constant)):
            found[node.func.value.id].add(node.args[0].value)
    return found["p"], found["cp"]


def test_every_property_a_lead_is_built_from_is_subscribed(project):
    deal_props, contact_props = _read_properties()
    assert deal_props and contact_props
    assert deal_props == set(LEAD_DEAL_PROPERTIES)
    assert contact_props == set(LEAD_CONTACT_PROPERTIES)
    declared = project["webhooks"]["config"]["subscriptions"]["legacyCrmObjects"]
    assert declared == subscriptions()
    changes = {(s["subscriptionType"], s.get("propertyName")) for s in declared}
    for name in deal_props:
        assert ("deal.propertyChange", name) in changes
    for name in contact_props:
        assert ("contact.propertyChange", name) in changes
    for kind in ("deal", "contact"):
        for event in ("creation", "deletion", "merge", "restore", "associationChange"):
            assert (f"{kind}.{event}", None) in changes


def test_every_subscribed_event_type_is_handled_by_the_webhook_run(project):
    for sub in project["webhooks"]["config"]["subscriptions"]["legacyCrmObjects"]:
        stype = sub["subscriptionType"]
        event = {"subscriptionType": stype, "objectId": 5, "fromObjectId": 5, "toObjectId": 6,
                 "associationType": "DEAL_TO_CONTACT" if stype.startswith("deal")
                 else "CONTACT_TO_DEAL", "newObjectId": 7, "mergedObjectIds": [5]}
        otype, object_id, _ = event_subject(event)
        assert otype in ("deals", "contacts") and object_id is not None, stype


def test_the_declared_scopes_are_exactly_what_the_code_uses(db, hs, world, project):
    """Pull, webhook run, sale delivery and relay, each partner holding exactly the
    declared scopes: nothing is refused, and every declared scope is used."""
    declared = project["app"]["config"]["auth"]["requiredScopes"]
    seller, buyer = world.partner_a, world.partner_b
    seller_id = connect(db, hs, seller, seed=3, scopes=declared)
    buyer_id = connect(db, hs, buyer, deals=10, contacts=8, seed=5, scopes=declared)
    sync(db, hs, seller)
    sync(db, hs, buyer)
    lead = sellable(db, seller)[0]
    sell(db, lead, buyer)
    delivered = sync_buyer(db, hs, buyer)
    assert (delivered.delivered, delivered.errors) == (1, [])
    copy_id = db[c.LEADS].find_one({"_id": lead["_id"]})["buyer_hubspot_deal_id"]
    buyer_portal = Portal(hs, buyer_id)
    copy = buyer_portal.deal(copy_id)["properties"]
    buyer_portal.update_deal(copy_id, dealstage=ReverseStages(db, buyer).stage_for(
        copy["pipeline"], "proposal"))
    edit = httpx.post(f"{hs.hubspot_base_url}/_sandbox/portals/{seller_id}/edit", json={
        "object_type": "deals", "id": lead["hubspot_deal_id"], "properties": {"amount": "4321"}})
    store_events(db, edit.json()["events"], PortalDirectory())
    apply_pending(db, hs, seller)
    sync(db, hs, buyer)
    relay = sync_buyer(db, hs, buyer)
    assert (relay.relayed, relay.errors) == (1, [])

    table: dict[str, set[str]] = {}
    for portal_id in (seller_id, buyer_id):
        log = httpx.get(f"{hs.hubspot_base_url}/_sandbox/portals/{portal_id}/scope-log").json()
        for route, scopes in log["routes"].items():
            table.setdefault(route, set()).update(scopes)
    used = set().union(*table.values())
    assert used == set(declared) - {"oauth"}, table
    # the call → scope table, for a few calls the code is known to make
    assert table["POST /crm/v3/properties/{object_type}"] == {"crm.schemas.deals.write"}
    assert table["GET /crm/v3/properties/{object_type}/{property_name}"] == {
        "crm.schemas.deals.read"}
    assert table["GET /crm/v3/pipelines/{object_type}"] == {"crm.objects.deals.read"}
    assert table["POST /crm/v4/associations/{from_type}/{to_type}/batch/read"] == {
        "crm.objects.deals.read", "crm.objects.contacts.read"}

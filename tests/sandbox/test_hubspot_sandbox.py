"""The HubSpot sandbox through the real hubspot-api-client SDK (and raw HTTP where the SDK
has no call): OAuth, CRM v3 paging/search/batch, pipelines, associations, properties, notes,
rate limits, fault injection, signed webhooks, stats, persistence."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from hubspot import HubSpot
from hubspot.crm.associations.v4 import (
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicFetchAssociationsBatchRequest,
)
from hubspot.crm.contacts import ApiException as ContactsApiException
from hubspot.crm.deals import (
    ApiException,
    BatchInputSimplePublicObjectBatchInput,
    BatchReadInputSimplePublicObjectId,
    Filter,
    FilterGroup,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInput,
    SimplePublicObjectId,
    SimplePublicObjectInput,
)
from hubspot.crm.objects.notes import (
    AssociationSpec,
    PublicAssociationsForObject,
    PublicObjectId,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.properties import PropertyCreate
from hubspot.oauth import ApiException as OAuthApiException
from hubspot.utils.signature import Signature

CLIENT_ID = "pc-sandbox-client"
CLIENT_SECRET = "pc-sandbox-secret"
REDIRECT = "http://localhost:9999/oauth/callback"
SCOPES = "crm.objects.contacts.read crm.objects.contacts.write crm.objects.deals.read " \
         "crm.objects.deals.write crm.schemas.deals.read crm.schemas.deals.write oauth"


# ---------------------------------------------------------------- helpers


def admin(url: str, method: str, path: str, body: dict | None = None) -> httpx.Response:
    resp = httpx.request(method, f"{url}/hubspot/_sandbox{path}", json=body, timeout=60)
    assert resp.status_code < 400, resp.text
    return resp


def make_portal(url: str, contacts: int = 120, deals: int = 230, pipelines: int = 3,
                seed: int = 11) -> dict:
    return admin(url, "POST", "/portals", {"contacts": contacts, "deals": deals,
                                           "pipelines": pipelines, "seed": seed}).json()


def authorize(url: str, portal_id: int | None = None, state: str = "s1") -> str:
    params = {"client_id": CLIENT_ID, "redirect_uri": REDIRECT, "scope": SCOPES, "state": state}
    if portal_id is not None:
        params["portal_id"] = str(portal_id)
    resp = httpx.get(f"{url}/hubspot/oauth/authorize", params=params, follow_redirects=False)
    assert resp.status_code == 302, resp.text
    location = urlparse(resp.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == [state]
    return query["code"][0]


def exchange(host: str, code: str):
    return HubSpot(host=host).oauth.tokens_api.create(
        grant_type="authorization_code", code=code, redirect_uri=REDIRECT,
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET)


def connect(url: str, host: str, portal_id: int) -> tuple[HubSpot, object]:
    tokens = exchange(host, authorize(url, portal_id))
    return HubSpot(access_token=tokens.access_token, host=host), tokens


def body_of(exc: Exception) -> dict:
    return json.loads(exc.body)


@pytest.fixture
def portal(sandbox_url: str) -> dict:
    return make_portal(sandbox_url)


@pytest.fixture
def client(sandbox_url: str, hubspot_host: str, portal: dict) -> HubSpot:
    return connect(sandbox_url, hubspot_host, portal["id"])[0]


def all_ids(client: HubSpot, kind: str, **kwargs) -> list[str]:
    api = getattr(client.crm, kind).basic_api
    ids, after = [], None
    while True:
        page = api.get_page(limit=100, after=after, **kwargs)
        ids += [o.id for o in page.results]
        if not page.paging:
            return ids
        after = page.paging.next.after


# ---------------------------------------------------------------- OAuth


def test_oauth_code_exchange_through_sdk(sandbox_url, hubspot_host, portal):
    code = authorize(sandbox_url, portal["id"])
    tokens = exchange(hubspot_host, code)
    assert tokens.expires_in == 1800 and tokens.token_type == "bearer"
    assert tokens.refresh_token and 100 < len(tokens.access_token) <= 300

    info = HubSpot(host=hubspot_host).oauth.access_tokens_api.get(tokens.access_token)
    assert info.hub_id == portal["id"] and info.app_id and 1700 < info.expires_in <= 1800
    assert "crm.objects.deals.read" in info.scopes

    with pytest.raises(OAuthApiException) as err:  # codes are single use
        exchange(hubspot_host, code)
    assert err.value.status == 400 and body_of(err.value)["status"] == "BAD_AUTH_CODE"

    bad = [({"client_secret": "nope"}, "BAD_CLIENT_SECRET"),
           ({"client_id": "nope"}, "BAD_CLIENT_ID"),
           ({"redirect_uri": "http://elsewhere/cb"}, "BAD_REDIRECT_URI")]
    for override, status in bad:
        args = {"grant_type": "authorization_code", "code": authorize(sandbox_url, portal["id"]),
                "redirect_uri": REDIRECT, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
        args.update(override)
        with pytest.raises(OAuthApiException) as err:
            HubSpot(host=hubspot_host).oauth.tokens_api.create(**args)
        assert err.value.status == 400 and body_of(err.value)["status"] == status


def test_authorize_without_portal_picks_distinct_free_portals(sandbox_url, hubspot_host):
    make_portal(sandbox_url, 5, 5, 1, seed=1)
    make_portal(sandbox_url, 5, 5, 1, seed=2)
    hubs = []
    for _ in range(2):
        tokens = exchange(hubspot_host, authorize(sandbox_url))
        hubs.append(HubSpot(host=hubspot_host).oauth.access_tokens_api.get(
            tokens.access_token).hub_id)
    assert hubs[0] != hubs[1]
    connected = {p["id"] for p in admin(sandbox_url, "GET", "/portals").json()["results"]
                 if p["connected"]}
    assert set(hubs) <= connected


def test_refresh_and_expiry(sandbox_url, hubspot_host, portal):
    client, tokens = connect(sandbox_url, hubspot_host, portal["id"])
    assert client.crm.deals.basic_api.get_page(limit=1).results

    admin(sandbox_url, "POST", f"/tokens/{tokens.access_token}/expire")
    with pytest.raises(ApiException) as err:
        client.crm.deals.basic_api.get_page(limit=1)
    assert err.value.status == 401
    assert body_of(err.value)["category"] == "INVALID_AUTHENTICATION"
    assert body_of(err.value)["message"].startswith("Authentication credentials not found")

    oauth = HubSpot(host=hubspot_host).oauth.tokens_api
    fresh = oauth.create(grant_type="refresh_token", refresh_token=tokens.refresh_token,
                         client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    assert fresh.access_token != tokens.access_token and fresh.expires_in == 1800
    client.access_token = fresh.access_token
    assert HubSpot(access_token=fresh.access_token, host=hubspot_host).crm.deals.basic_api \
        .get_page(limit=1).results

    # time passes: the token expires after 1800 s of sandbox time
    admin(sandbox_url, "POST", "/clock", {"advance_seconds": 1801})
    with pytest.raises(ContactsApiException) as err:
        HubSpot(access_token=fresh.access_token, host=hubspot_host).crm.contacts.basic_api \
            .get_page(limit=1)
    assert err.value.status == 401

    with pytest.raises(OAuthApiException) as err:
        oauth.create(grant_type="refresh_token", refresh_token="na1-bogus",
                     client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    assert body_of(err.value)["status"] == "BAD_REFRESH_TOKEN"


def test_missing_scope_is_403(sandbox_url, hubspot_host, portal):
    tokens = admin(sandbox_url, "POST", f"/portals/{portal['id']}/tokens",
                   {"scopes": ["crm.objects.deals.read", "oauth"]}).json()
    client = HubSpot(access_token=tokens["access_token"], host=hubspot_host)
    assert client.crm.deals.basic_api.get_page(limit=1).results
    with pytest.raises(ContactsApiException) as err:
        client.crm.contacts.basic_api.get_page(limit=1)
    assert err.value.status == 403 and body_of(err.value)["category"] == "MISSING_SCOPES"


# ---------------------------------------------------------------- CRM objects


def test_list_paging_covers_every_object_once(client, portal):
    deals = all_ids(client, "deals")
    contacts = all_ids(client, "contacts")
    assert len(deals) == len(set(deals)) == portal["deals"] == 230
    assert len(contacts) == len(set(contacts)) == portal["contacts"] == 120
    assert [int(i) for i in deals] == sorted(int(i) for i in deals)

    page = client.crm.deals.basic_api.get_page(limit=100)
    assert len(page.results) == 100 and page.paging.next.after
    with pytest.raises(ApiException) as err:
        client.crm.deals.basic_api.get_page(limit=101)
    assert err.value.status == 400


def test_properties_shape_defaults_and_unknown(client):
    deal = client.crm.deals.basic_api.get_page(
        limit=1, properties=["dealname", "industry", "company_size", "no_such_prop"]).results[0]
    props = deal.properties
    assert {"dealname", "industry", "company_size", "hs_object_id", "createdate",
            "hs_lastmodifieddate"} <= set(props)
    assert "no_such_prop" not in props
    assert props["company_size"] in {"1-10", "11-50", "51-200", "201-500", "501-1000", "1000+"}
    assert props["hs_object_id"] == deal.id and deal.created_at <= deal.updated_at

    default = client.crm.deals.basic_api.get_by_id(deal.id)
    assert {"dealname", "amount", "dealstage", "pipeline", "closedate"} <= set(default.properties)
    float(default.properties["amount"])

    contact = client.crm.contacts.basic_api.get_page(
        limit=1, properties=["firstname", "lastname", "email", "company", "phone", "jobtitle",
                             "city", "country", "industry", "numemployees"]).results[0]
    assert "@" in contact.properties["email"] and contact.properties["lastmodifieddate"]
    assert contact.properties["numemployees"] in {"1-10", "11-50", "51-200", "201-500",
                                                  "501-1000", "1000+"}

    with pytest.raises(ApiException) as err:
        client.crm.deals.basic_api.get_by_id("999")
    assert err.value.status == 404 and body_of(err.value)["category"] == "OBJECT_NOT_FOUND"


def test_archive_and_list_archived(client):
    first = client.crm.deals.basic_api.get_page(limit=1).results[0].id
    client.crm.deals.basic_api.archive(first)
    assert first not in all_ids(client, "deals")
    archived = client.crm.deals.basic_api.get_page(limit=100, archived=True).results
    hit = [o for o in archived if o.id == first]
    assert hit and hit[0].archived and hit[0].archived_at


def test_batch_read_update_and_limits(client):
    ids = all_ids(client, "deals")
    batch = client.crm.deals.batch_api
    read = batch.read(BatchReadInputSimplePublicObjectId(
        inputs=[SimplePublicObjectId(id=i) for i in ids[:100]],
        properties=["dealname", "amount"], properties_with_history=[]))
    assert {o.id for o in read.results} == set(ids[:100])

    with pytest.raises(ApiException) as err:
        batch.read(BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=i) for i in ids[:101]],
            properties=["dealname"], properties_with_history=[]))
    assert err.value.status == 400 and body_of(err.value)["category"] == "VALIDATION_ERROR"

    with pytest.raises(ApiException) as err:  # history: 50 inputs max
        batch.read(BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=i) for i in ids[:51]],
            properties=[], properties_with_history=["dealstage"]))
    assert err.value.status == 400

    target = ids[:3]
    before = {o.id: o for o in read.results if o.id in target}
    updated = batch.update(BatchInputSimplePublicObjectBatchInput(inputs=[
        SimplePublicObjectBatchInput(id=i, properties={"dealstage": "closedlost", "amount": 4242})
        for i in target]))
    assert {o.id for o in updated.results} == set(target)
    for o in updated.results:
        assert o.properties["amount"] == "4242"
        assert o.updated_at > before[o.id].updated_at

    hist = batch.read(BatchReadInputSimplePublicObjectId(
        inputs=[SimplePublicObjectId(id=target[0])], properties=["amount"],
        properties_with_history=["amount", "dealstage"]))
    history = hist.results[0].properties_with_history
    assert history["amount"][0].value == "4242" and len(history["amount"]) == 2
    assert history["amount"][0].timestamp > history["amount"][1].timestamp
    assert history["amount"][0].source_type

    with pytest.raises(ApiException) as err:
        batch.update(BatchInputSimplePublicObjectBatchInput(inputs=[
            SimplePublicObjectBatchInput(id=i, properties={"amount": 1}) for i in ids[:101]]))
    assert err.value.status == 400

    missing = batch.read(BatchReadInputSimplePublicObjectId(
        inputs=[SimplePublicObjectId(id=ids[0]), SimplePublicObjectId(id="123")],
        properties=[], properties_with_history=[]))
    assert missing.num_errors == 1 and missing.errors[0].context["ids"] == ["123"]

    with pytest.raises(ApiException) as err:
        batch.update(BatchInputSimplePublicObjectBatchInput(inputs=[
            SimplePublicObjectBatchInput(id=ids[0], properties={"not_a_prop": "x"})]))
    assert err.value.status == 400


def test_batch_create(client):
    created = client.crm.contacts.batch_api.create(
        {"inputs": [{"properties": {"email": f"new{i}@example.com", "firstname": "N"}}
                    for i in range(3)]})
    assert len(created.results) == 3
    assert all(o.properties["email"].endswith("@example.com") for o in created.results)


# ---------------------------------------------------------------- search


def search(client: HubSpot, kind: str, groups: list[list[dict]], sort: object = None,
           limit: int = 100, after: str | None = None, props: list[str] | None = None):
    req = PublicObjectSearchRequest(
        filter_groups=[FilterGroup(filters=[Filter(**f) for f in g]) for g in groups],
        sorts=[sort] if sort else None, limit=limit, after=after, properties=props)
    return getattr(client.crm, kind).search_api.do_search(public_object_search_request=req)


def test_search_incremental_window_with_tie_break(client, portal):
    prop = "hs_lastmodifieddate"
    # the whole set through search, restarting the window from the last timestamp seen
    seen: list[str] = []
    last_ts, last_id = 0, 0
    requests = 0
    while True:
        groups = [[{"property_name": prop, "operator": "GT", "value": str(last_ts)}],
                  [{"property_name": prop, "operator": "EQ", "value": str(last_ts)},
                   {"property_name": "hs_object_id", "operator": "GT", "value": str(last_id)}]]
        page = search(client, "deals", groups, sort=prop, limit=100)
        requests += 1
        if not page.results:
            break
        stamps = [(int(o.updated_at.timestamp() * 1000), int(o.id)) for o in page.results]
        assert stamps == sorted(stamps)
        seen += [o.id for o in page.results]
        last_ts, last_id = stamps[-1]
        time.sleep(0.2)  # stay under 5 searches per second
    assert len(seen) == len(set(seen)) == portal["deals"]
    assert requests == -(-portal["deals"] // 100) + 1


def test_search_filters_sorts_and_total(client):
    page = search(client, "contacts", [[{"property_name": "lastmodifieddate", "operator": "GTE",
                                         "value": "0"}]],
                  sort={"propertyName": "lastmodifieddate", "direction": "DESCENDING"}, limit=50)
    assert page.total == 120 and len(page.results) == 50 and page.paging.next.after == "50"
    stamps = [o.updated_at for o in page.results]
    assert stamps == sorted(stamps, reverse=True)

    middle = page.results[25].updated_at.isoformat().replace("+00:00", "Z")
    window = search(client, "contacts", [[
        {"property_name": "lastmodifieddate", "operator": "LTE", "value": middle},
        {"property_name": "lastmodifieddate", "operator": "GTE", "value": "0"}]], limit=200)
    assert window.total == 120 - 25 and all(o.updated_at <= page.results[25].updated_at
                                            for o in window.results)

    ids = sorted(int(o.id) for o in window.results)
    by_id = search(client, "contacts", [[{"property_name": "hs_object_id", "operator": "LT",
                                          "value": str(ids[10])}]], sort="hs_object_id")
    assert by_id.total >= 10
    assert [int(o.id) for o in by_id.results] == sorted(int(o.id) for o in by_id.results)

    time.sleep(1.1)
    stage = search(client, "deals", [[{"property_name": "dealstage", "operator": "EQ",
                                       "value": "closedwon"}]], props=["dealstage"], limit=200)
    assert stage.total > 0 and all(o.properties["dealstage"] == "closedwon"
                                   for o in stage.results)
    sorted_by_amount = search(client, "deals", [], sort={"propertyName": "amount",
                                                          "direction": "DESCENDING"},
                              props=["amount"], limit=20)
    amounts = [float(o.properties["amount"]) for o in sorted_by_amount.results]
    assert amounts == sorted(amounts, reverse=True) and sorted_by_amount.total == 230

    with pytest.raises(ApiException) as err:
        search(client, "deals", [], limit=201)
    assert err.value.status == 400


def test_search_10k_cap(sandbox_url, hubspot_host):
    big = make_portal(sandbox_url, contacts=10, deals=10_050, pipelines=1, seed=5)
    client = connect(sandbox_url, hubspot_host, big["id"])[0]
    req = [[{"property_name": "hs_lastmodifieddate", "operator": "GTE", "value": "0"}]]
    page = search(client, "deals", req, sort="hs_lastmodifieddate", limit=200, after="9800")
    assert page.total == 10_050 and len(page.results) == 200
    assert page.paging.next.after == "10000"
    with pytest.raises(ApiException) as err:
        search(client, "deals", req, sort="hs_lastmodifieddate", limit=200, after="10000")
    assert err.value.status == 400 and body_of(err.value)["category"] == "VALIDATION_ERROR"


# ---------------------------------------------------------------- pipelines, associations,
#                                                                  properties, notes


def test_pipelines(client):
    pipelines = client.crm.pipelines.pipelines_api.get_all("deals").results
    assert [p.id for p in pipelines][0] == "default" and len(pipelines) == 3
    default = pipelines[0]
    assert [s.id for s in default.stages] == [
        "appointmentscheduled", "qualifiedtobuy", "presentationscheduled",
        "decisionmakerboughtin", "contractsent", "closedwon", "closedlost"]
    assert default.stages[5].metadata == {"isClosed": "true", "probability": "1.0"}
    custom = pipelines[1]
    assert custom.id.isdigit() and all(s.id.isdigit() for s in custom.stages)
    stages = {p.id: {s.id for s in p.stages} for p in pipelines}
    deals = client.crm.deals.basic_api.get_page(limit=100, properties=["pipeline", "dealstage"])
    used = Counter(d.properties["pipeline"] for d in deals.results)
    assert len(used) == 3
    for d in deals.results:
        assert d.properties["dealstage"] in stages[d.properties["pipeline"]]


def test_associations_batch_read(client):
    deal_ids = all_ids(client, "deals")
    res = client.crm.associations.v4.batch_api.get_page(
        "deals", "contacts", BatchInputPublicFetchAssociationsBatchRequest(
            inputs=[PublicFetchAssociationsBatchRequest(id=i) for i in deal_ids[:50]]))
    assert len(res.results) == 50
    first = res.results[0]
    assert first.to and first.to[0].association_types[0].type_id == 3
    contact_id = first.to[0].to_object_id
    back = client.crm.associations.v4.batch_api.get_page(
        "contacts", "deals", BatchInputPublicFetchAssociationsBatchRequest(
            inputs=[PublicFetchAssociationsBatchRequest(id=contact_id)]))
    assert first._from.id in {t.to_object_id for t in back.results[0].to}

    with pytest.raises(Exception) as err:
        client.crm.associations.v4.batch_api.get_page(
            "deals", "contacts", BatchInputPublicFetchAssociationsBatchRequest(
                inputs=[PublicFetchAssociationsBatchRequest(id=str(i)) for i in range(1001)]))
    assert err.value.status == 400


def test_custom_property_and_note(client):
    props = client.crm.properties.core_api
    created = props.create("deals", PropertyCreate(
        name="pc_buyer_stage", label="Buyer stage", type="string", field_type="text",
        group_name="dealinformation"))
    assert created.name == "pc_buyer_stage"
    assert props.get_by_name("deals", "pc_buyer_stage").label == "Buyer stage"
    with pytest.raises(Exception) as err:
        props.create("deals", PropertyCreate(name="pc_buyer_stage", label="x", type="string",
                                             field_type="text", group_name="dealinformation"))
    assert err.value.status == 409

    deal = client.crm.deals.basic_api.get_page(limit=1).results[0].id
    client.crm.deals.basic_api.update(deal, SimplePublicObjectInput(
        properties={"pc_buyer_stage": "meeting_held"}))
    got = client.crm.deals.basic_api.get_by_id(deal, properties=["pc_buyer_stage"])
    assert got.properties["pc_buyer_stage"] == "meeting_held"

    note = client.crm.objects.notes.basic_api.create(SimplePublicObjectInputForCreate(
        properties={"hs_timestamp": "2026-01-01T00:00:00Z",
                    "hs_note_body": "Buyer reached stage meeting_held"},
        associations=[PublicAssociationsForObject(
            to=PublicObjectId(id=deal),
            types=[AssociationSpec(association_category="HUBSPOT_DEFINED",
                                   association_type_id=214)])]))
    assert note.id and note.properties["hs_note_body"].startswith("Buyer")
    linked = client.crm.associations.v4.batch_api.get_page(
        "deals", "notes", BatchInputPublicFetchAssociationsBatchRequest(
            inputs=[PublicFetchAssociationsBatchRequest(id=deal)]))
    assert note.id in {str(t.to_object_id) for t in linked.results[0].to}


# ---------------------------------------------------------------- limits and faults


def test_rate_limit_general_and_search(sandbox_url, hubspot_host, portal):
    token = admin(sandbox_url, "POST", f"/portals/{portal['id']}/tokens", {}).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    admin(sandbox_url, "PUT", "/config", {"rate_limits": True})
    statuses, limited = [], None
    with httpx.Client(base_url=f"{hubspot_host}/crm/v3/objects", headers=headers) as http:
        for _ in range(115):
            r = http.get("/deals", params={"limit": 1})
            statuses.append(r.status_code)
            if r.status_code == 429 and limited is None:
                limited = r
        assert statuses[:110] == [200] * 110 and 429 in statuses[110:]
        assert 1 <= int(limited.headers["Retry-After"]) <= 10
        body = limited.json()
        assert body["errorType"] == "RATE_LIMIT" and body["policyName"] == "TEN_SECONDLY_ROLLING"
        assert body["correlationId"]

        # search has its own 5/s budget and answers without rate-limit headers
        codes = []
        for _ in range(6):
            r = http.post("/contacts/search", json={"limit": 1})
            codes.append(r.status_code)
        assert codes[:5] == [200] * 5 and codes[5] == 429
        assert r.json()["policyName"] == "SECONDLY"
        assert r.json()["message"] == "You have reached your secondly limit."

    # Through the SDK a 429 on a POST surfaces as ApiException with Retry-After. (GETs are
    # retried by urllib3's default Retry, which honours Retry-After on 429.)
    client = HubSpot(access_token=token["access_token"], host=hubspot_host)
    with pytest.raises(ApiException) as err:
        for _ in range(6):
            search(client, "deals", [], limit=1)
    assert err.value.status == 429 and err.value.headers["Retry-After"] == "1"

    admin(sandbox_url, "PUT", "/config", {"rate_limits": False})
    with httpx.Client(base_url=f"{hubspot_host}/crm/v3/objects", headers=headers) as http:
        assert {http.get("/deals", params={"limit": 1}).status_code for _ in range(150)} == {200}


def test_fault_injection_fraction_and_seed(sandbox_url, hubspot_host, portal):
    token = admin(sandbox_url, "POST", f"/portals/{portal['id']}/tokens", {}).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}

    def run(n: int) -> list[int]:
        with httpx.Client(base_url=f"{hubspot_host}/crm/v3/objects", headers=headers) as http:
            return [http.get("/deals", params={"limit": 1}).status_code for _ in range(n)]

    config = {"rate_limits": False, "fail_500": 0.3, "fail_429": 0.1, "seed": 42}
    admin(sandbox_url, "PUT", "/config", config)
    first = run(400)
    counts = Counter(first)
    assert 0.22 < counts[500] / 400 < 0.38 and 0.05 < counts[429] / 400 < 0.16
    admin(sandbox_url, "PUT", "/config", {"seed": 42})
    assert run(400) == first  # same seed, same faults
    stats = admin(sandbox_url, "GET", "/stats").json()
    assert stats["injected"]["500"] == 2 * counts[500]

    admin(sandbox_url, "PUT", "/config", {"fail_500": 0, "fail_429": 0, "slow_fraction": 0.5,
                                          "slow_ms": 60, "seed": 1})
    admin(sandbox_url, "POST", "/stats/reset")
    slowest = 0.0
    with httpx.Client(base_url=f"{hubspot_host}/crm/v3/objects", headers=headers) as http:
        for _ in range(40):
            t0 = time.perf_counter()
            assert http.get("/deals", params={"limit": 1}).status_code == 200
            slowest = max(slowest, time.perf_counter() - t0)
    # Counted by the sandbox, not timed here: a loaded machine makes any answer slow.
    slowed = admin(sandbox_url, "GET", "/stats").json()["slowed"]
    assert 10 <= slowed <= 30
    assert slowest >= 0.06  # a slowed answer really waited


def test_stats_count_requests_per_portal_and_kind(sandbox_url, client, portal):
    admin(sandbox_url, "POST", "/stats/reset")
    all_ids(client, "deals")  # 230 deals → 3 pages
    search(client, "deals", [], limit=5)
    stats = admin(sandbox_url, "GET", "/stats").json()
    mine = stats["by_portal"][str(portal["id"])]
    assert mine["list"] == 3 and mine["search"] == 1 and mine["total"] == 4
    assert stats["by_kind"]["list"] == 3


def test_touch_bumps_modified_time(sandbox_url, client, portal):
    touched = admin(sandbox_url, "POST", f"/portals/{portal['id']}/touch",
                    {"object_type": "deals", "count": 5, "seed": 3,
                     "properties": {"dealstage": "contractsent"}}).json()
    page = search(client, "deals", [[{"property_name": "hs_lastmodifieddate", "operator": "GTE",
                                      "value": str(touched["updated_ms"])}]],
                  props=["dealstage"])
    assert sorted(o.id for o in page.results) == sorted(touched["ids"])
    assert {o.properties["dealstage"] for o in page.results} == {"contractsent"}


# ---------------------------------------------------------------- webhooks


class Receiver:
    """A tiny HTTP server collecting webhook requests."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                outer.requests.append({"headers": dict(self.headers), "body": body,
                                       "path": self.path})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/hubspot"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_simulate_sends_signed_webhooks(sandbox_url, client, portal):
    rx = Receiver()
    try:
        out = admin(sandbox_url, "POST", f"/portals/{portal['id']}/simulate",
                    {"changes": 150, "webhook_url": rx.url, "seed": 9}).json()
    finally:
        rx.close()
    assert out["sent"] and len(out["changes"]) == len(out["events"]) == 150
    assert sorted(d["events"] for d in out["deliveries"]) == [50, 100]
    assert all(d["status"] == 204 for d in out["deliveries"])
    assert len(rx.requests) == 2

    events = []
    for req in rx.requests:
        h = {k.lower(): v for k, v in req["headers"].items()}
        assert Signature.is_valid(
            signature=h["x-hubspot-signature-v3"], client_secret=CLIENT_SECRET,
            request_body=req["body"], http_uri=rx.url, http_method="POST",
            signature_version="v3", timestamp=h["x-hubspot-request-timestamp"])
        assert Signature.is_valid(signature=h["x-hubspot-signature"],
                                  client_secret=CLIENT_SECRET, request_body=req["body"],
                                  signature_version="v1")
        assert not Signature.is_valid(
            signature=h["x-hubspot-signature-v3"], client_secret="wrong",
            request_body=req["body"], http_uri=rx.url, http_method="POST",
            signature_version="v3", timestamp=h["x-hubspot-request-timestamp"])
        batch = json.loads(req["body"])
        assert len(batch) <= 100
        events += batch
    kinds = Counter(e["subscriptionType"] for e in events)
    assert {"deal.propertyChange", "contact.propertyChange"} <= set(kinds)
    assert set(kinds) <= {"deal.propertyChange", "contact.propertyChange", "deal.creation",
                          "contact.creation", "deal.deletion", "contact.deletion"}
    for e in events:
        assert {"eventId", "subscriptionId", "portalId", "appId", "occurredAt",
                "subscriptionType", "attemptNumber", "objectId", "changeSource"} <= set(e)
        assert e["portalId"] == portal["id"]

    # the changes are real: the last stage change is visible through the API
    stage_changes = [e for e in events if e["subscriptionType"] == "deal.propertyChange"
                     and e["propertyName"] == "dealstage"]
    last = {}
    for e in sorted(stage_changes, key=lambda e: e["eventId"]):
        last[e["objectId"]] = e["propertyValue"]
    deleted = {e["objectId"] for e in events if e["subscriptionType"] == "deal.deletion"}
    oid, value = next((k, v) for k, v in last.items() if k not in deleted)
    assert client.crm.deals.basic_api.get_by_id(str(oid), properties=["dealstage"]) \
        .properties["dealstage"] == value


# ---------------------------------------------------------------- scale and persistence


def test_big_portal_generation_and_paging(sandbox_url):
    """Scale, not speed: the speed is measured by bench/hubspot_pull_bench.py."""
    big = make_portal(sandbox_url, contacts=100_000, deals=100_000, pipelines=3, seed=77)
    assert big["deals"] == 100_000 and big["contacts"] == 100_000
    token = admin(sandbox_url, "POST", f"/portals/{big['id']}/tokens", {}).json()
    admin(sandbox_url, "PUT", "/config", {"rate_limits": False})
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    seen: set[str] = set()
    after = None
    with httpx.Client(base_url=f"{sandbox_url}/hubspot", headers=headers) as http:
        while len(seen) < 20_000:
            params = {"limit": 100, "properties": "dealname,amount,dealstage,pipeline"}
            if after:
                params["after"] = after
            data = http.get("/crm/v3/objects/deals", params=params).json()
            seen.update(item["id"] for item in data["results"])
            after = data["paging"]["next"]["after"]
    assert len(seen) == 20_000  # 200 pages deep, no record twice
    admin(sandbox_url, "DELETE", f"/portals/{big['id']}")


def test_state_survives_restart(sandbox_factory, tmp_path):
    env = {"PC_SANDBOX_DATA_DIR": str(tmp_path)}
    proc, url = sandbox_factory(env)
    host = f"{url}/hubspot"
    p = make_portal(url, contacts=30, deals=40, pipelines=2, seed=3)
    client, tokens = connect(url, host, p["id"])
    client.crm.properties.core_api.create("deals", PropertyCreate(
        name="pc_buyer_stage", label="Buyer stage", type="string", field_type="text",
        group_name="dealinformation"))
    deal = client.crm.deals.basic_api.get_page(limit=1).results[0].id
    client.crm.deals.basic_api.update(deal, SimplePublicObjectInput(
        properties={"pc_buyer_stage": "won"}))
    proc.terminate()
    proc.wait(timeout=15)
    assert (tmp_path / "hubspot.pickle").exists()

    _, url2 = sandbox_factory(env)
    host2 = f"{url2}/hubspot"
    portals = httpx.get(f"{url2}/hubspot/_sandbox/portals").json()["results"]
    assert [x["id"] for x in portals] == [p["id"]] and portals[0]["connected"]
    again = HubSpot(access_token=tokens.access_token, host=host2)
    assert again.crm.deals.basic_api.get_by_id(deal, properties=["pc_buyer_stage"]) \
        .properties["pc_buyer_stage"] == "won"
    assert len(all_ids(again, "deals")) == 40
    fresh = HubSpot(host=host2).oauth.tokens_api.create(
        grant_type="refresh_token", refresh_token=tokens.refresh_token,
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    assert fresh.access_token


def test_list_with_associations_headers_and_partial_association_errors(sandbox_url,
                                                                       hubspot_host, portal):
    token = admin(sandbox_url, "POST", f"/portals/{portal['id']}/tokens", {}).json()
    admin(sandbox_url, "PUT", "/config", {"rate_limits": True})
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    r = httpx.get(f"{hubspot_host}/crm/v3/objects/deals", headers=headers,
                  params={"limit": 5, "associations": "contacts"})
    assert r.status_code == 200
    assert r.headers["X-HubSpot-RateLimit-Max"] == "110"
    assert int(r.headers["X-HubSpot-RateLimit-Remaining"]) == 109
    first = r.json()["results"][0]
    links = first["associations"]["contacts"]["results"]
    assert links and links[0]["type"] == "deal_to_contact"

    client = HubSpot(access_token=token["access_token"], host=hubspot_host)
    created = client.crm.deals.basic_api.create(SimplePublicObjectInput(
        properties={"dealname": "Lonely deal", "pipeline": "default",
                    "dealstage": "appointmentscheduled", "amount": "100"}))
    res = client.crm.associations.v4.batch_api.get_page(
        "deals", "contacts", BatchInputPublicFetchAssociationsBatchRequest(inputs=[
            PublicFetchAssociationsBatchRequest(id=first["id"]),
            PublicFetchAssociationsBatchRequest(id=created.id)]))
    assert len(res.results) == 1 and res.num_errors == 1
    assert res.errors[0].context == {"fromObjectId": [created.id]}


def test_authorize_rejects_bad_client_and_scope(sandbox_url):
    base = {"client_id": CLIENT_ID, "redirect_uri": REDIRECT, "scope": SCOPES}
    for override, status in (({"client_id": "x"}, "BAD_CLIENT_ID"),
                             ({"scope": "crm.objects.companies.read"}, "BAD_SCOPES"),
                             ({"redirect_uri": "not-a-url"}, "BAD_REDIRECT_URI")):
        r = httpx.get(f"{sandbox_url}/hubspot/oauth/authorize", params={**base, **override})
        assert r.status_code == 400 and r.json()["status"] == status

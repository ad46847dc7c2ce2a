"""The sandbox's ``paging.next.link`` is HubSpot's: the request URL with ``after`` set,
every other parameter kept. A generic client that only follows links (dlt's HubSpot
source does) must get every record once, at the page size it asked for, with the
properties and associations it asked for on every page, not just the first."""

from __future__ import annotations

import math
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from tests.sandbox.test_hubspot_sandbox import admin, make_portal


@pytest.fixture
def http(sandbox_url: str):
    """A plain HTTP client with a bearer token for a fresh portal (230 deals, 120
    contacts); yields the client and the portal."""
    portal = make_portal(sandbox_url, contacts=120, deals=230, seed=23)
    token = admin(sandbox_url, "POST", f"/portals/{portal['id']}/tokens", {}).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    with httpx.Client(headers=headers, timeout=30) as client:
        yield client, portal


def walk(client: httpx.Client, first_url: str, params: dict) -> list[dict]:
    """Follow ``paging.next.link`` and nothing else; returns each page's JSON."""
    pages = [client.get(first_url, params=params).raise_for_status().json()]
    while "paging" in pages[-1]:
        link = pages[-1]["paging"]["next"]["link"]
        pages.append(client.get(link).raise_for_status().json())
        assert len(pages) < 1000, "the link never ends"
    return pages


def true_links(client: httpx.Client, base: str, from_type: str, to_type: str,
               ids: list[str]) -> dict[str, set[str]]:
    r = client.post(f"{base}/crm/v4/associations/{from_type}/{to_type}/batch/read",
                    json={"inputs": [{"id": i} for i in ids]})
    assert r.status_code in (200, 207), r.text
    return {row["from"]["id"]: {str(t["toObjectId"]) for t in row["to"]}
            for row in r.json()["results"]}


@pytest.mark.parametrize("object_type,other,limit", [("deals", "contacts", 25),
                                                     ("contacts", "deals", 7)])
def test_following_links_keeps_page_size_properties_and_associations(
        http, hubspot_host, object_type, other, limit):
    client, portal = http
    total = portal[object_type]
    params = {"limit": limit, "associations": other, "archived": "false",
              "properties": "createdate,hs_object_id"}
    pages = walk(client, f"{hubspot_host}/crm/v3/objects/{object_type}", params)

    # One request per page of ``limit``: 10 for 230 deals at 25, not 23 at HubSpot's
    # default of 10 after the first page.
    assert len(pages) == math.ceil(total / limit)
    assert [len(p["results"]) for p in pages[:-1]] == [limit] * (len(pages) - 1)
    records = [r for p in pages for r in p["results"]]
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)) == total

    # The link is the request URL with ``after`` replaced: same path, same parameters.
    for page in pages[:-1]:
        link = urlparse(page["paging"]["next"]["link"])
        assert link.path.endswith(f"/crm/v3/objects/{object_type}")
        query = parse_qs(link.query)
        assert query["after"] == [page["paging"]["next"]["after"]]
        assert {k: v[0] for k, v in query.items() if k != "after"} == \
            {k: str(v) for k, v in params.items()}

    # Asked-for properties and associations on every page, matching the portal's links.
    assert all(set(r["properties"]) >= {"createdate", "hs_object_id"} for r in records)
    expected = true_links(client, hubspot_host, object_type, other, ids)
    got = {r["id"]: {a["id"] for a in r.get("associations", {}).get(other, {})
                     .get("results", [])} for r in records}
    assert {k: v for k, v in got.items() if v} == expected
    last_pages = [r for p in pages[len(pages) // 2:] for r in p["results"]]
    assert any("associations" in r for r in last_pages)  # not lost after page 1


def test_archived_listing_stays_archived_through_links(http, hubspot_host):
    client, _ = http
    base = f"{hubspot_host}/crm/v3/objects/deals"
    doomed = [r["id"] for r in client.get(base, params={"limit": 5}).json()["results"]]
    r = client.post(f"{base}/batch/archive", json={"inputs": [{"id": i} for i in doomed]})
    assert r.status_code == 204, r.text
    pages = walk(client, base, {"limit": 2, "archived": "true"})
    assert [len(p["results"]) for p in pages] == [2, 2, 1]
    archived = [r for p in pages for r in p["results"]]
    assert sorted(r["id"] for r in archived) == sorted(doomed)
    assert all(r["archived"] for r in archived)


def test_one_objects_associations_page_by_link(http, hubspot_host):
    client, portal = http
    deals = [r for p in walk(client, f"{hubspot_host}/crm/v3/objects/contacts",
                             {"limit": 100, "associations": "deals"}) for r in p["results"]]
    busy = max(deals, key=lambda r: len(r.get("associations", {}).get("deals", {})
                                        .get("results", [])))
    want = {a["id"] for a in busy["associations"]["deals"]["results"]}
    assert len(want) >= 2, "the generated portal has a contact with several deals"
    pages = walk(client, f"{hubspot_host}/crm/v4/objects/contacts/{busy['id']}/associations/"
                 "deals", {"limit": 1})
    assert len(pages) == len(want)
    assert {str(r["toObjectId"]) for p in pages for r in p["results"]} == want
    bad = client.get(f"{hubspot_host}/crm/v4/objects/contacts/{busy['id']}/associations/deals",
                     params={"limit": 501})
    assert bad.status_code == 400

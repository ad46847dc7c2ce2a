"""The sandbox's batch read with ``propertiesWithHistory`` follows HubSpot's CRM v3
documentation: at most 50 inputs (HubSpot's error wording beyond), each requested
property's values newest first with ``timestamp`` and ``sourceType``, an update adding
an entry; the lead analytics rebuild stage history from exactly this."""

from __future__ import annotations

import time

import httpx

from tests.sandbox.test_hubspot_sandbox import admin, make_portal


def test_batch_read_with_history(sandbox_url: str, hubspot_host: str):
    portal = make_portal(sandbox_url, contacts=5, deals=60, seed=31)
    token = admin(sandbox_url, "POST", f"/portals/{portal['id']}/tokens", {}).json()
    with httpx.Client(headers={"Authorization": f"Bearer {token['access_token']}"},
                      base_url=hubspot_host, timeout=30) as client:
        ids = [d["id"] for d in client.get("/crm/v3/objects/deals",
                                           params={"limit": 100}).json()["results"]]
        ids += [d["id"] for d in client.get("/crm/v3/objects/deals", params={
            "limit": 100, "after": int(ids[-1]) + 1}).json()["results"]]
        body = {"inputs": [{"id": i} for i in ids[:51]], "properties": ["dealstage"],
                "propertiesWithHistory": ["dealstage"]}
        too_many = client.post("/crm/v3/objects/deals/batch/read", json=body)
        assert too_many.status_code == 400
        assert "property histories is 50" in too_many.json()["message"]
        # Without history the same 51 ids are fine (the limit there is 100).
        plain = client.post("/crm/v3/objects/deals/batch/read",
                            json={"inputs": body["inputs"], "properties": ["dealstage"]})
        assert plain.status_code == 200 and len(plain.json()["results"]) == 51

        deal = ids[0]
        stages = client.get("/crm/v3/pipelines/deals").json()["results"][0]["stages"]
        before = client.get(f"/crm/v3/objects/deals/{deal}",
                            params={"properties": "dealstage"}).json()
        target = next(s["id"] for s in stages
                      if s["id"] != before["properties"]["dealstage"])
        time.sleep(0.01)
        client.patch(f"/crm/v3/objects/deals/{deal}",
                     json={"properties": {"dealstage": target}}).raise_for_status()
        ok = client.post("/crm/v3/objects/deals/batch/read", json={
            "inputs": [{"id": i} for i in ids[:50]], "properties": ["dealstage"],
            "propertiesWithHistory": ["dealstage", "pipeline"]})
        assert ok.status_code == 200 and len(ok.json()["results"]) == 50
        record = next(r for r in ok.json()["results"] if r["id"] == deal)
        history = record["propertiesWithHistory"]["dealstage"]
        assert [h["value"] for h in history] == [target, before["properties"]["dealstage"]]
        assert history[0]["timestamp"] > history[1]["timestamp"]  # newest first
        assert {h["sourceType"] for h in history} <= {"INTEGRATION", "IMPORT", "CRM_UI"}
        assert record["propertiesWithHistory"]["pipeline"]

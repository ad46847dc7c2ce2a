"""HubSpot from the browser (issue 9): connect through the sandbox's consent page
and back, Sync Now with live progress (the run launched as the Dagster sensor would),
the leads appear, and a stage-mapping edit persists."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from pc_core import collections as c
from pc_core.hubspot.connection.oauth import PartnerTokens
from pc_core.hubspot.connection.reconnect import RefreshTokenDead
from pc_sandbox.hubspot.schema import INDUSTRY_LABELS
from tests.web.browser import check_page
from tests.web.conftest import ADMIN_BB

DEALS = 15


def test_connect_sync_and_map_stages(open_page, web_stack):
    # The portal the consent page hands out (the first one nobody connected).
    portal = httpx.post(f"{web_stack.sandbox}/hubspot/_sandbox/portals", timeout=30, json={
        "name": "Bluebird (browser test)", "contacts": 12, "deals": DEALS, "pipelines": 1,
        "seed": 7}).json()
    page = open_page(ADMIN_BB, "/settings/hubspot")
    expect(page.get_by_role("heading", level=1, name="HubSpot")).to_be_visible()
    # Out to the consent page and back (/settings/hubspot?success=true), the outcome in
    # words; the page then drops the query so a reload does not repeat the message.
    with page.expect_response(re.compile(r"/settings/hubspot\?success=true$"), timeout=30_000):
        page.get_by_role("button", name="Connect HubSpot").click()
    expect(page.get_by_role("status").filter(has_text="HubSpot is connected")).to_be_visible()
    expect(page.get_by_text(str(portal["id"]), exact=True)).to_be_visible()
    expect(page.get_by_text("Live updates on")).to_be_attached(timeout=15_000)

    page.get_by_role("button", name="Sync now").click()
    progress = page.get_by_role("status").filter(has_text=re.compile("Sync"))
    expect(progress).to_contain_text("Syncing")
    runs = web_stack.run_pending_syncs()  # what the Dagster daemon does with the request
    assert len(runs) == 1
    expect(progress).to_contain_text("Sync finished", timeout=20_000)
    history = page.get_by_role("region", name="Sync history")
    expect(history.get_by_role("listitem").first).to_contain_text("Succeeded")
    run_link = history.get_by_role("link", name=re.compile(f"Dagster run {runs[0][:8]}"))
    expect(run_link).to_be_visible()
    # The Dagster UI's address comes from GET /v1/client-config (dagster_url).
    expect(run_link).to_have_attribute("href", re.compile(rf"^http://\S+:\d+/runs/{runs[0]}$"))
    check_page(page, "hubspot")

    # Stage mapping: change one HubSpot stage's shared stage, save, and find it kept.
    mapping = page.get_by_role("form", name="Stage mapping")
    first = mapping.get_by_role("combobox").first
    label = first.evaluate("el => el.labels[0].textContent.trim()")
    before = first.input_value()
    wanted = "lost" if before != "lost" else "won"
    first.select_option(wanted)
    mapping.get_by_role("button", name="Save mapping").click()
    expect(page.get_by_text(re.compile("saved", re.I)).first).to_be_visible()
    page.reload()
    expect(page.get_by_role("form", name="Stage mapping").get_by_label(label)).to_have_value(wanted)
    stored = web_stack.db[c.STAGE_MAPPINGS].find_one({"partner_id": "bluebird",
                                                      "canonical_stage": wanted})
    assert stored is not None

    # The synced deals are leads now.
    leads = [lead for lead in web_stack.db[c.LEADS].find({"partner_id": "bluebird"})
             if lead.get("hubspot_deal_id")]
    assert len(leads) == DEALS
    page.goto("/leads")
    page.get_by_label("Search", exact=True).fill(leads[0]["title"])
    expect(page.get_by_role("table").get_by_role("link", name=leads[0]["title"]).first
           ).to_be_visible()
    # Its page tells when it last synced with HubSpot and that nothing waits to go back.
    page.goto(f"/leads/{leads[0]['_id']}")
    sync = page.get_by_role("region", name="Sync")
    expect(sync).to_contain_text(f"HubSpot deal: {leads[0]['hubspot_deal_id']}")
    expect(sync.locator("time")).to_have_text(re.compile(r"(now|second|minute)"))
    expect(sync).to_contain_text("No changes waiting to push")

    # Industry reads as the portal labels it (HubSpot's option label, read by the
    # sync), not as a form made up from the value ("Hospital health care").
    labelled = next(lead for lead in leads
                    if INDUSTRY_LABELS.get(lead.get("industry") or "", "").count(" "))
    label = INDUSTRY_LABELS[labelled["industry"]]
    page.goto(f"/leads/{labelled['_id']}")
    expect(page.get_by_role("region", name="Details")).to_contain_text(label)
    page.goto("/leads")
    page.get_by_label("Search", exact=True).fill(labelled["title"])
    expect(page.get_by_role("row").filter(has_text=labelled["title"]).first).to_contain_text(label)

    # The partner uninstalls the app in HubSpot: the next token refresh is refused, the
    # dashboard and the HubSpot page say so, and "Reconnect HubSpot" brings it back.
    httpx.post(f"{web_stack.sandbox}/hubspot/_sandbox/portals/{portal['id']}/uninstall",
               timeout=30).raise_for_status()
    with pytest.raises(RefreshTokenDead):
        PartnerTokens(web_stack.db, web_stack.settings, "bluebird").refresh()
    page.goto("/")
    banner = page.get_by_test_id("hubspot-reconnect")
    expect(banner).to_contain_text("HubSpot needs to be reconnected")
    page.goto("/settings/hubspot")
    expect(page.get_by_text("Needs reconnect")).to_be_visible()
    expect(page.get_by_role("button", name="Sync now")).to_be_disabled()
    with page.expect_response(re.compile(r"/settings/hubspot\?success=true$"), timeout=30_000):
        page.get_by_test_id("hubspot-reconnect").get_by_role(
            "button", name="Reconnect HubSpot").click()
    expect(page.get_by_role("status").filter(has_text="HubSpot is connected")).to_be_visible()
    expect(page.get_by_test_id("hubspot-reconnect")).to_have_count(0)
    assert web_stack.db[c.PARTNERS].find_one({"_id": "bluebird"})["hubspot"].get(
        "sync_status") in (None, "ok")

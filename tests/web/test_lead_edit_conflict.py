"""Two people edit one lead: the second save is refused (the API's ``If-Match``
check, 412), the colleague's change is kept, and the page shows their version. A
change that touches nothing the edit is about (one's own note, a sync time) moves the
lead's ETag but does not make the open edit stale."""

from __future__ import annotations

import re

from playwright.sync_api import Route, expect

from pc_core import collections as c
from pc_core.leads import inventory as leads
from pc_core.models.leads import LeadUpdate
from pc_core.store import replace_if_unchanged
from pc_core.timeutil import utcnow
from tests.conftest import SYSTEM
from tests.web.browser import check_page
from tests.web.conftest import ADMIN_NW


def test_a_colleagues_save_between_open_and_save_is_shown_not_overwritten(open_page, web_stack):
    lead = web_stack.db[c.LEADS].find_one(
        {"partner_id": "northwind", "status": "open", "stage": {"$nin": ["won", "lost"]}})
    page = open_page(ADMIN_NW, f"/leads/{lead['_id']}")
    expect(page.get_by_role("heading", level=1, name=lead["title"])).to_be_visible()
    form = page.get_by_role("form", name="Edit lead")
    expect(form.get_by_label("Stage")).to_have_value(lead["stage"])  # the form holds the lead
    form.get_by_label("Stage").select_option("won")

    # The colleague saves at the last moment: after anything the page may re-read,
    # just as this page's save leaves (the race a re-read before PATCH cannot close).
    def colleague_saves_first(route: Route) -> None:
        if route.request.method == "PATCH":
            leads.update_lead(web_stack.db, SYSTEM, lead["_id"],
                              LeadUpdate(stage="lost", amount_cents=4242_00))
        route.continue_()

    page.route(re.compile(rf"/v1/leads/{lead['_id']}$"), colleague_saves_first)
    form.get_by_role("button", name="Save changes").click()

    alert = page.get_by_role("alert").filter(has_text="Someone else changed this lead")
    expect(alert).to_contain_text("now Lost")
    expect(alert).to_contain_text("$4,242.00")
    expect(alert).to_contain_text("Your change was not saved")
    stored = web_stack.db[c.LEADS].find_one({"_id": lead["_id"]})
    assert stored["stage"] == "lost" and stored["amount_cents"] == 4242_00
    check_page(page, "lead-edit-conflict")

    # Reloading shows their version in the form; saving again then goes through.
    page.unroute(re.compile(rf"/v1/leads/{lead['_id']}$"))
    alert.get_by_role("button", name="Reload lead").click()
    expect(form.get_by_label("Stage")).to_have_value("lost")
    form.get_by_label("Stage").select_option("won")
    form.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Lead saved")).to_be_visible()
    saved = web_stack.db[c.LEADS].find_one({"_id": lead["_id"]})
    assert saved["stage"] == "won" and saved["amount_cents"] == 4242_00  # the amount kept


def test_ones_own_note_does_not_make_the_open_edit_stale(open_page, web_stack):
    db = web_stack.db
    lead = db[c.LEADS].find_one({"partner_id": "northwind", "status": "open",
                                 "stage": {"$nin": ["won", "lost"]},
                                 "hubspot_deal_id": {"$exists": False}},
                                sort=[("created_at", 1)])
    page = open_page(ADMIN_NW, f"/leads/{lead['_id']}")
    form = page.get_by_role("form", name="Edit lead")
    expect(form.get_by_label("Stage")).to_have_value(lead["stage"])
    form.get_by_label("Amount", exact=True).fill("1,234")  # typed, not saved yet

    # A note in the middle of the edit: the lead's revision (its ETag) moves; the page
    # re-reads the lead after it.
    page.get_by_label("New note").fill("Asked for the budget sign-off")
    with page.expect_response(lambda r: r.request.method == "GET"
                              and r.url.endswith(f"/v1/leads/{lead['_id']}")):
        page.get_by_role("button", name="Add note").click()
    expect(page.get_by_text("Asked for the budget sign-off")).to_be_visible()
    expect(form.get_by_label("Amount", exact=True)).to_have_value("1,234")  # what was typed stays
    # And one more write the page is not told about (a sync stamp, no live event).
    current = db[c.LEADS].find_one({"_id": lead["_id"]})
    assert replace_if_unchanged(db[c.LEADS], current, {"hubspot_synced_at": utcnow()})

    form.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Lead saved")).to_be_visible()
    expect(page.get_by_role("alert").filter(has_text="Someone else changed")).to_have_count(0)
    saved = db[c.LEADS].find_one({"_id": lead["_id"]})
    assert saved["amount_cents"] == 1234_00
    assert [n["body"] for n in saved["notes"]][-1] == "Asked for the budget sign-off"

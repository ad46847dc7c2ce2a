"""Leads as an admin and as a read-only user: CSV import by drag and drop with the
per-row report, the table and a lead's page; a ``user`` sees no write control."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from pc_core import collections as c
from tests.web.browser import check_page
from tests.web.conftest import ADMIN_NW, USER_NW


def drop_file(page: Page, target, name: str, text: str) -> None:
    """Drag a file from the desktop onto ``target`` (a DataTransfer with a File)."""
    transfer = page.evaluate_handle(
        """([name, text]) => {
            const dt = new DataTransfer();
            dt.items.add(new File([text], name, {type: 'text/csv'}));
            return dt;
        }""", [name, text])
    target.dispatch_event("dragenter", {"dataTransfer": transfer})
    target.dispatch_event("drop", {"dataTransfer": transfer})


def test_csv_import_by_drag_and_drop_reports_the_bad_row(open_page, web_stack):
    tag = uuid.uuid4().hex[:6]
    csv = ("title,company,stage,amount\n"
           f"Import {tag} one,Acme,new,1200.50\n"
           f"Import {tag} two,Globex,not-a-stage,10\n"
           f"Import {tag} three,Initech,proposal,\n")
    page = open_page(ADMIN_NW, "/leads")
    page.get_by_role("link", name="Import CSV").click()
    expect(page.get_by_role("heading", level=1, name="Import leads")).to_be_visible()
    check_page(page, "import")
    drop_file(page, page.get_by_test_id("import-drop-zone"), f"leads-{tag}.csv", csv)
    expect(page.get_by_text(f"leads-{tag}.csv")).to_be_visible()
    page.get_by_role("button", name="Import leads").click()

    report = page.get_by_role("region", name="Import report")
    expect(report).to_contain_text("2 created, 0 updated, 1 row with errors")
    errors = report.get_by_role("table", name="Rows with errors")
    expect(errors.get_by_role("row")).to_have_count(2)  # header + the bad row
    expect(errors.get_by_role("row").nth(1)).to_contain_text(re.compile(r"^\s*3\s*.*stage", re.I))
    check_page(page, "import-report")
    assert web_stack.db[c.LEADS].count_documents(
        {"partner_id": "northwind", "title": {"$regex": f"^Import {tag}"}}) == 2

    report.get_by_role("link", name="See the leads").click()
    page.get_by_label("Search", exact=True).fill(f"Import {tag}")
    table = page.get_by_role("table")
    expect(table.get_by_role("link", name=re.compile(f"Import {tag}"))).to_have_count(2)
    expect(page).to_have_url(re.compile(r"[?&]q=|[?&]text="))  # filters live in the URL
    check_page(page, "leads")


def test_a_user_sees_no_write_controls(open_page, web_stack):
    lead = web_stack.db[c.LEADS].find_one({"partner_id": "northwind", "status": "open"})
    page = open_page(USER_NW, "/leads")
    expect(page.get_by_role("heading", level=1, name="Leads")).to_be_visible()
    expect(page.get_by_role("link", name="Import CSV")).to_have_count(0)

    page.goto(f"/leads/{lead['_id']}")
    expect(page.get_by_role("heading", level=1, name=lead["title"])).to_be_visible()
    for name in ("Mark non-fit and list", "List on marketplace", "Save changes", "Add note"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
    expect(page.get_by_role("form", name="Edit lead")).to_have_count(0)
    expect(page.get_by_label("New note")).to_have_count(0)
    check_page(page, "lead-detail-user")

    page.goto("/marketplace")
    expect(page.get_by_role("list", name="Listings")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^Reserve"))).to_have_count(0)
    # The import page is not offered to a user, even by its address.
    page.goto("/leads/import")
    expect(page.get_by_role("heading", level=1, name="Import leads")).to_have_count(0)

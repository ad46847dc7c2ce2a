"""A page catches up after its live connection drops (issue 22: "live clients
reconnected and caught up (missed events refetched)").

Live events are not kept anywhere: what the server sends while a browser is
disconnected is gone. So when the connection comes back, the page must reload what
it shows. The drop here is the one a Redis restart causes: the API loses its Redis
subscription, subscribes again and cuts its Socket.IO connections, because events
were published while it was away (pc_api/realtime/resubscribe.py). The change the
page missed is written to the database with no live event at all, so only the
refetch after the reconnect can show it.
"""

from __future__ import annotations

import uuid

import redis
from playwright.sync_api import expect

from pc_core import collections as c
from pc_core.leads.inventory import build_lead_doc
from pc_core.models.leads import LeadFields
from pc_core.timeutil import utcnow
from tests.web.conftest import ADMIN_NW


def test_page_refetches_what_it_missed_while_disconnected(open_page, web_stack):
    page = open_page(ADMIN_NW, "/leads")
    expect(page.get_by_text("Live updates on")).to_be_attached(timeout=15_000)
    title = f"Missed while offline {uuid.uuid4().hex[:6]}"
    web_stack.db[c.LEADS].insert_one(build_lead_doc(
        "northwind", LeadFields(title=title, company="Fjord Analytics"),
        source="test", now=utcnow()))
    expect(page.get_by_text(title)).to_have_count(0)  # no event announced it

    # Redis drops the API's subscriptions (as on a restart); the API subscribes again
    # and cuts its connections; the page reconnects by itself.
    conn = redis.Redis.from_url(web_stack.settings.redis_url)
    assert conn.client_kill_filter(_type="pubsub") >= 1
    expect(page.get_by_text("Live updates are back.")).to_be_visible(timeout=10_000)
    expect(page.get_by_text(title)).to_be_visible(timeout=5_000)

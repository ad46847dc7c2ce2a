"""Email header injection: no header value the mailer sends to Mailgun carries a
line break, whatever the data it was built from (issue 11, point 5)."""

from __future__ import annotations

import pytest

from pc_core import collections as c
from pc_core.mail.mailer import FAILED, retry_failed_emails, send_email
from pc_core.settings import Settings
from pc_core.timeutil import utcnow
from tests.conftest import market_settings

URL = "/v1/meetings/webhooks/chilipiper"
INJECTED = "Acme\r\nBcc: attacker@evil.example"


@pytest.fixture
def settings(stores, sandbox_url) -> Settings:
    return market_settings(stores, sandbox_url)


def _clean(message: dict) -> None:
    for field in ("subject", "from", *message["to"]):
        value = message[field] if field in ("subject", "from") else field
        assert "\r" not in value and "\n" not in value, (field, value)
    assert message["bcc"] == [] and message["cc"] == [] and message["headers"] == {}
    assert not any("evil.example" in to for to in message["to"])


def test_booking_with_an_injected_company_sends_no_injected_header(
        client, world, settings, db, mailbox):
    r = client.put(f"/v1/partners/{world.partner_a}/routing",
                   json={"meeting_types": ["intro"]}, headers=world.owner.headers)
    assert r.status_code == 200, r.text
    body = {"event": "meeting.booked", "meetingId": "m-inject", "meetingType": "intro",
            "startTime": "2030-01-15T15:00:00Z",
            "assignee": {"name": "Rep", "email": "rep@belkins.example"},
            "form": {"name": "Mallory", "email": "mallory@acme.example.com",
                     "company": INJECTED}}
    r = client.post(URL, json=body, headers={"X-PC-Webhook-Secret": settings.chilipiper_secret})
    assert r.status_code == 200, r.text
    assert r.json()["partner_id"] == world.partner_a
    items = mailbox.get("/messages").json()["items"]
    assert len(items) == 1
    message = items[0]
    _clean(message)
    # The company is still in the subject, on one line.
    assert "Acme Bcc: attacker@evil.example" in message["subject"]
    record = db[c.EMAILS].find_one({"_id": f"lead-assigned:{r.json()['lead_id']}"})
    assert record["status"] == "sent" and "\n" not in record["subject"]


def test_every_header_value_is_cleaned(db, settings, mailbox):
    noisy = settings.model_copy(update={"mail_from": "PC\r\nBcc: x@evil.example <pc@x.example>"})
    record = send_email(
        db, noisy, key="inject-1", template="lead_assigned",
        to=["ok@example.com", "bad@example.com\r\nBcc: attacker@evil.example"],
        context={"partner_name": "Bluebird\nX-Evil: 1", "lead_title": "T\u2028Cc: a@evil.example",
                 "meeting_type": "intro", "start_time": "2030-01-01 10:00",
                 "contact_name": "", "contact_email": "", "contact_phone": "",
                 "company": "", "company_size": "", "budget": "", "industry": "",
                 "location": "", "lead_url": "http://x"},
    )
    assert record is not None and record["status"] == "sent", record
    assert record["to"] == "ok@example.com"  # a recipient with a line break is refused
    [message] = mailbox.get("/messages").json()["items"]
    _clean(message)
    assert message["to"] == ["ok@example.com"]
    assert "\u2028" not in message["subject"]


def test_a_stored_email_is_cleaned_when_retried(db, settings, mailbox):
    """Records written before the rule are cleaned on their way out too."""
    now = utcnow()
    db[c.EMAILS].insert_one({
        "_id": "legacy-1", "template": "lead_assigned", "to": "ok@example.com",
        "subject": "New lead: " + INJECTED, "text": "t", "html": "<p>t</p>",
        "status": FAILED, "attempts": 1, "last_error": "x", "next_attempt_key": "",
        "created_at": now, "updated_at": now, "rev": 1,
    })
    assert retry_failed_emails(db, settings) == 1
    [message] = mailbox.get("/messages").json()["items"]
    _clean(message)

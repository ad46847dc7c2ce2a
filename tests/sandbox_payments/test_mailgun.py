"""The Mailgun stand-in through plain httpx, as the platform's client talks to it."""

from __future__ import annotations

import httpx

from .conftest import MAILGUN_KEY

DOMAIN = "mg.partner-connector.test"


def test_send_and_list(mailgun: httpx.Client) -> None:
    response = mailgun.post(
        f"/v3/{DOMAIN}/messages",
        data={
            "from": "Partner Connector <noreply@mg.partner-connector.test>",
            "to": ["alice@example.com", "Bob <bob@example.com>"],
            "subject": "New lead routed to you",
            "text": "Hello Alice",
            "html": "<p>Hello <b>Alice</b></p>",
            "o:tag": ["lead-routed", "meetings"],
            "h:X-PC-Lead": "lead_1",
            "v:lead_id": "lead_1",
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Queued. Thank you."
    assert body["id"].startswith("<") and body["id"].endswith(f"@{DOMAIN}>")

    mailgun.post(
        f"/v3/{DOMAIN}/messages",
        files={"attachment": ("invoice.txt", b"total 10", "text/plain")},
        data={
            "from": "noreply@x.test",
            "to": "carol@example.com",
            "subject": "Invoice",
            "text": "hi",
        },
    ).raise_for_status()

    everything = mailgun.get("/_sandbox/messages").json()
    assert [m["subject"] for m in everything["items"]] == ["Invoice", "New lead routed to you"]
    assert everything["items"][0]["attachments"][0]["filename"] == "invoice.txt"

    for_bob = mailgun.get("/_sandbox/messages", params={"to": "bob@example.com"}).json()["items"]
    assert len(for_bob) == 1
    message = for_bob[0]
    assert message["id"] == body["id"]
    assert message["to"] == ["alice@example.com", "Bob <bob@example.com>"]
    assert message["tags"] == ["lead-routed", "meetings"]
    assert message["headers"] == {"X-PC-Lead": "lead_1"}
    assert message["variables"] == {"lead_id": "lead_1"}
    assert message["html"] == "<p>Hello <b>Alice</b></p>"

    page = mailgun.get("/_sandbox/mailbox")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert "New lead routed to you" in page.text and "carol@example.com" in page.text

    assert mailgun.delete("/_sandbox/messages").json() == {"deleted": 2}
    assert mailgun.get("/_sandbox/messages").json()["items"] == []


def test_comma_separated_recipients(mailgun: httpx.Client) -> None:
    mailgun.post(
        f"/v3/{DOMAIN}/messages",
        data={
            "from": "a@x.test",
            "to": "one@example.com, two@example.com",
            "subject": "s",
            "text": "t",
        },
    ).raise_for_status()
    assert mailgun.get("/_sandbox/messages").json()["items"][0]["to"] == [
        "one@example.com",
        "two@example.com",
    ]


def test_wrong_key_is_401(payments_sandbox_url: str, mailgun: httpx.Client) -> None:
    url = f"{payments_sandbox_url}/mailgun/v3/{DOMAIN}/messages"
    data = {"from": "a@x.test", "to": "b@example.com", "subject": "s", "text": "t"}
    wrong = httpx.post(url, data=data, auth=("api", "key-wrong"))
    assert wrong.status_code == 401
    assert wrong.text == "Forbidden"
    assert httpx.post(url, data=data).status_code == 401
    assert httpx.post(url, data=data, auth=("user", MAILGUN_KEY)).status_code == 401
    assert mailgun.get("/_sandbox/messages").json()["items"] == []


def test_missing_fields_are_400(mailgun: httpx.Client) -> None:
    base = {"from": "a@x.test", "to": "b@example.com", "subject": "s", "text": "t"}
    for field in ("from", "to", "subject"):
        data = {k: v for k, v in base.items() if k != field}
        response = mailgun.post(f"/v3/{DOMAIN}/messages", data=data)
        assert response.status_code == 400
        assert field in response.json()["message"]
    no_body = {k: v for k, v in base.items() if k != "text"}
    assert mailgun.post(f"/v3/{DOMAIN}/messages", data=no_body).status_code == 400
    assert mailgun.get("/_sandbox/messages").json()["items"] == []

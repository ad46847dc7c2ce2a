"""E-mails render through Jinja2, one template per e-mail: a value is escaped in the
HTML part (autoescaping) and reads as given in the subject and the text part; a
template missing a value sends nothing rather than a half-filled e-mail."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pc_core import collections as c
from pc_core.mail.mailer import TEMPLATES, render, send_email
from pc_core.settings import Settings
from tests.conftest import market_settings

HOSTILE = '<script>alert("x")</script> & <img src=x onerror=\'y\'>'
SOLD = {"seller_name": "Bluebird", "lead_title": HOSTILE, "industry": "SaaS",
        "location": "Berlin", "buyer_name": "Acme", "price": "$1,000.00",
        "commission": "$100.00", "purchase_id": "p-1"}


@pytest.fixture
def settings(stores, sandbox_url) -> Settings:
    return market_settings(stores, sandbox_url)


def test_a_hostile_value_is_escaped_in_html_but_not_in_the_text(db, settings, mailbox):
    record = send_email(db, settings, key="sold-hostile", template="lead_sold",
                        to=["seller@example.com"], context=SOLD)
    assert record is not None and record["status"] == "sent", record
    [message] = mailbox.get("/messages").json()["items"]
    html, text = message["html"], message["text"]
    assert "<script>" not in html and "<img" not in html
    assert ("<strong>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; "
            "&lt;img src=x onerror=&#39;y&#39;&gt;</strong>") in html
    assert f'Your lead "{HOSTILE}" (SaaS, Berlin)' in text
    assert message["subject"] == f'Your lead "{HOSTILE}" was sold to Acme'
    # The template's own markup and the money's "$" come through untouched.
    assert "<td>$1,000.00</td>" in html and "Price: $1,000.00" in text


def test_a_missing_value_sends_nothing(db, settings, mailbox):
    incomplete = {k: v for k, v in SOLD.items() if k != "buyer_name"}
    assert send_email(db, settings, key="sold-incomplete", template="lead_sold",
                      to=["seller@example.com"], context=incomplete) is None
    assert db[c.EMAILS].find_one({"_id": "sold-incomplete"}) is None
    assert mailbox.get("/messages").json()["items"] == []


@pytest.mark.parametrize("path", sorted(TEMPLATES.glob("*.jinja")), ids=lambda p: p.stem)
def test_each_email_is_one_template_with_a_subject_a_text_and_an_html_part(path: Path):
    names = set(re.findall(r"\{\{ (\w+) \}\}", path.read_text(encoding="utf-8")))
    subject, text, html = render(path.stem, {name: "<v>" for name in names})
    assert subject and "\n" not in subject and "<v>" in subject + text
    assert "<v>" not in html and "&lt;v&gt;" in html
    assert html.lstrip().startswith("<")
    assert not [p for p in TEMPLATES.iterdir() if p.suffix != ".jinja"]

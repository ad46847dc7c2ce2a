"""Correctly signed but malformed webhooks are answered 400 naming the problem, store
nothing, and never crash (a 500 makes the sender retry for a day).

The signatures are computed here from the vendors' documented schemes, not with
our code or their SDKs:

- HubSpot v3: base64 of HMAC-SHA256(client secret, method + URI + body + timestamp),
  headers ``X-HubSpot-Signature-v3`` and ``X-HubSpot-Request-Timestamp`` (ms);
- Stripe: ``Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``;
- ChiliPiper (our scheme, README): ``X-PC-Signature: sha256=<hex HMAC-SHA256 of the
  body>``.

Then hypothesis sends signed random JSON, shaped like each vendor's payload with
any field replaced by anything: no 5xx, and a refused delivery stores nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from pc_api.main import create_app
from pc_core import collections as c
from pc_core.timeutil import utcnow

HUBSPOT = "/v1/webhooks/hubspot"
STRIPE = "/v1/webhooks/stripe"
CHILIPIPER = "/v1/meetings/webhooks/chilipiper"
PORTAL = 4242001
# Bounded and repeatable in the suite; PC_FUZZ_EXAMPLES=2000 explores further (random).
_DEEP = os.environ.get("PC_FUZZ_EXAMPLES")
FUZZ = hyp_settings(max_examples=int(_DEEP or 60), deadline=None, derandomize=not _DEEP,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


@pytest.fixture
def quiet_settings(settings):
    """No email leaves the test: Mailgun points at a closed port."""
    return settings.model_copy(update={"mailgun_base_url": "http://127.0.0.1:9/mailgun"})


@pytest.fixture
def hooks(quiet_settings, db, redis_conn, world) -> Iterator[TestClient]:
    partner = db[c.PARTNERS].find_one({"_id": world.partner_a})
    hub = {"portal_id": str(PORTAL), "scopes": [], "access_token": "x", "refresh_token": "x",
           "expires_at": utcnow() + timedelta(hours=1), "last_synced_at": None}
    db[c.PARTNERS].replace_one({"_id": world.partner_a}, {**partner, "hubspot": hub})
    with TestClient(create_app(quiet_settings)) as client:
        yield client


# -- signing, from the vendors' documentation ---------------------------------------------


def hubspot_headers(settings, body: bytes) -> dict[str, str]:
    timestamp = str(int(time.time() * 1000))
    uri = settings.public_url.rstrip("/") + HUBSPOT
    source = b"POST" + uri.encode() + body + timestamp.encode()
    digest = hmac.new(settings.hubspot_client_secret.encode(), source, hashlib.sha256).digest()
    return {"Content-Type": "application/json", "X-HubSpot-Request-Timestamp": timestamp,
            "X-HubSpot-Signature-v3": base64.b64encode(digest).decode()}


def stripe_headers(settings, body: bytes) -> dict[str, str]:
    t = str(int(time.time()))
    mac = hmac.new(settings.stripe_webhook_secret.encode(), t.encode() + b"." + body,
                   hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "Stripe-Signature": f"t={t},v1={mac}"}


def chilipiper_headers(settings, body: bytes) -> dict[str, str]:
    key = settings.chilipiper_signing_secret or settings.chilipiper_secret
    mac = hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-PC-Signature": f"sha256={mac}"}


def post(client: TestClient, settings, path: str, body: bytes):
    sign = {HUBSPOT: hubspot_headers, STRIPE: stripe_headers, CHILIPIPER: chilipiper_headers}
    return client.post(path, content=body, headers=sign[path](settings, body))


def raw(value: Any) -> bytes:
    return json.dumps(value).encode()


def counts(db) -> dict[str, int]:
    return {name: db[name].count_documents({}) for name in (
        c.WEBHOOK_EVENTS, c.STRIPE_EVENTS, c.MEETINGS, c.LEADS, c.PURCHASES, c.INVOICES)}


def hs_event(**changes: Any) -> dict[str, Any]:
    event = {"eventId": 101, "subscriptionId": 4100001, "portalId": PORTAL, "appId": 1000001,
             "occurredAt": 1_700_000_000_000, "subscriptionType": "deal.propertyChange",
             "attemptNumber": 0, "objectId": 9001, "propertyName": "dealstage",
             "propertyValue": "closedwon", "changeSource": "CRM_UI"}
    return {**event, **changes}


def stripe_event(**changes: Any) -> dict[str, Any]:
    event = {"id": "evt_fuzz_1", "object": "event", "type": "payment_intent.succeeded",
             "created": 1_700_000_000, "data": {"object": {
                 "id": "pi_1", "object": "payment_intent", "amount": 1000,
                 "metadata": {"purchase_id": "nope"}}}}
    return {**event, **changes}


def meeting(**changes: Any) -> dict[str, Any]:
    body = {"event": "meeting.booked", "meetingId": "fuzz-1", "meetingType": "intro",
            "startTime": "2030-01-15T15:00:00Z",
            "form": {"name": "Ada", "email": "ada@acme.example.com", "company": "Acme"}}
    return {**body, **changes}


# -- the named cases ----------------------------------------------------------------------

MALFORMED = [
    # (route, body, words the 400's detail must contain)
    (HUBSPOT, raw([hs_event(occurredAt="yesterday")]), "occurredAt"),
    (HUBSPOT, raw([hs_event(attemptNumber="first")]), "attemptNumber"),
    (HUBSPOT, raw([hs_event(), hs_event(eventId=102, objectId=-5)]), "event 1: objectId"),
    (HUBSPOT, raw([hs_event(portalId=2**64 - 1)]), "portalId"),
    (HUBSPOT, raw([hs_event(eventId=True)]), "eventId"),
    (HUBSPOT, raw([hs_event(occurredAt=1.7e12)]), "occurredAt"),
    (HUBSPOT, raw([hs_event(subscriptionType=["deal"])]), "subscriptionType"),
    (HUBSPOT, raw({"events": [hs_event()]}), "JSON array"),
    (HUBSPOT, raw("hello"), "JSON array"),
    (HUBSPOT, raw(None), "JSON array"),
    (HUBSPOT, raw([hs_event(), 7]), "event 1: must be a JSON object"),
    (HUBSPOT, b"[{", "not valid JSON"),
    (STRIPE, raw({k: v for k, v in stripe_event().items() if k != "id"}), "id"),
    (STRIPE, raw(stripe_event(id="")), "id"),
    (STRIPE, raw(stripe_event(type=42)), "type"),
    (STRIPE, raw({k: v for k, v in stripe_event().items() if k != "data"}), "data"),
    (STRIPE, raw(stripe_event(data={"object": [1]})), "data.object"),
    (STRIPE, raw([stripe_event()]), "JSON object"),
    (STRIPE, b"not json at all", "not valid JSON"),
    (STRIPE, b'{"id": "evt_\xff"}', "UTF-8"),
    (STRIPE, raw(stripe_event(created="yesterday")), "created"),
    (STRIPE, raw(stripe_event(data={"object": {"id": "pi_1", "metadata": ["x"]}})),
     "data.object.metadata"),
    # A query operator where an id belongs must never reach MongoDB.
    (STRIPE, raw(stripe_event(data={"object": {"id": "pi_1",
                                               "metadata": {"purchase_id": {"$ne": None}}}})),
     "data.object.metadata.purchase_id"),
    (STRIPE, raw(stripe_event(type="invoice.paid", data={"object": {
        "id": "in_1", "status_transitions": {"paid_at": 10**15}}})),
     "data.object.status_transitions.paid_at"),
    (STRIPE, raw(stripe_event(data={"object": {"id": "pi_1", "amount": "ten"}})),
     "data.object.amount"),
    (CHILIPIPER, b'{"meetingId": "m-\xff\xfe", "meetingType": "intro"}', "UTF-8"),
    (CHILIPIPER, raw([meeting()]), "JSON object"),
    (CHILIPIPER, raw("booked"), "JSON object"),
    (CHILIPIPER, raw(None), "JSON object"),
    (CHILIPIPER, b"meeting=booked", "not valid JSON"),
]


@pytest.mark.parametrize(("path", "body", "words"), MALFORMED,
                         ids=[f"{p.rsplit('/', 1)[-1]}-{i}" for i, (p, _, _) in
                              enumerate(MALFORMED)])
def test_signed_but_malformed_is_400_and_stores_nothing(hooks, quiet_settings, db, path, body,
                                                         words):
    before = counts(db)
    r = post(hooks, quiet_settings, path, body)
    assert r.status_code == 400, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, str) and words in detail, detail
    assert counts(db) == before


def test_the_well_formed_versions_are_accepted(hooks, quiet_settings, db, world):
    """The bodies above minus their fault pass, so the 400s are about the fault."""
    r = post(hooks, quiet_settings, HUBSPOT, raw([hs_event()]))
    assert r.status_code == 200 and r.json()["stored"] == 1, r.text
    stored = db[c.WEBHOOK_EVENTS].find_one({})
    assert (stored["occurred_at_ms"], stored["attempt"]) == (1_700_000_000_000, 0)
    assert json.loads(stored["event"])["propertyValue"] == "closedwon"
    r = post(hooks, quiet_settings, STRIPE, raw(stripe_event()))
    assert r.status_code == 200 and r.json()["result"] == "unknown-purchase", r.text
    r = post(hooks, quiet_settings, CHILIPIPER, raw(meeting()))
    assert r.status_code == 200 and r.json()["status"] == "created", r.text
    # Only the meeting's own faults are 422 (its fields), as before.
    r = post(hooks, quiet_settings, CHILIPIPER, raw({"meetingId": "x"}))
    assert r.status_code == 422


@pytest.mark.parametrize("start", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-05:00"])
def test_times_without_a_utc_equivalent_are_422(hooks, quiet_settings, db, start):
    before = counts(db)
    r = post(hooks, quiet_settings, CHILIPIPER, raw(meeting(startTime=start)))
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["startTime"]
    assert counts(db) == before


def test_odd_but_valid_answers_are_kept(hooks, quiet_settings, db):
    """Numbers past MongoDB's 64-bit integers and absurd budgets: kept, not a 500."""
    body = meeting(meetingId="odd-1", form={"companySize": 2**64 - 1, "budget": "9" * 400})
    r = post(hooks, quiet_settings, CHILIPIPER, raw(body))
    assert r.status_code == 200, r.text
    lead = db[c.LEADS].find_one({"_id": r.json()["lead_id"]})
    assert (lead["company_size"], lead["budget_cents"]) == ("1000+", 10_000_000_000)


# -- fuzzing ------------------------------------------------------------------------------

SCALARS = (st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**64 - 1)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20))
ANY_JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12,
)


def _maybe(good: st.SearchStrategy) -> st.SearchStrategy:
    """Mostly the right kind of value, sometimes anything at all."""
    return st.one_of(good, good, ANY_JSON)


HS_EVENT = st.fixed_dictionaries({}, optional={
    "eventId": _maybe(st.integers(min_value=0, max_value=10**12)),
    "subscriptionId": _maybe(st.integers(min_value=0, max_value=10**9)),
    "portalId": _maybe(st.sampled_from([PORTAL, PORTAL + 1])),
    "appId": _maybe(st.integers(min_value=0, max_value=10**9)),
    "occurredAt": _maybe(st.integers(min_value=0, max_value=2**63 - 1)),
    "subscriptionType": _maybe(st.sampled_from(
        ["deal.propertyChange", "contact.creation", "deal.deletion", "company.merge", ""])),
    "attemptNumber": _maybe(st.integers(min_value=0, max_value=10)),
    "objectId": _maybe(st.integers(min_value=0, max_value=2**63 - 1)),
    "propertyName": _maybe(st.text(max_size=20)),
    "propertyValue": ANY_JSON,
    "changeSource": _maybe(st.sampled_from(["CRM_UI", "INTEGRATION", "API"])),
})
HS_BODY = st.one_of(st.lists(HS_EVENT, max_size=5), st.lists(HS_EVENT, max_size=5), ANY_JSON)

INTENT = st.fixed_dictionaries({}, optional={
    "id": _maybe(st.text(max_size=12)),
    "amount": _maybe(st.integers(min_value=0, max_value=10**9)),
    "amount_received": _maybe(st.integers(min_value=0, max_value=10**9)),
    "metadata": _maybe(st.dictionaries(
        st.sampled_from(["purchase_id", "pc_invoice_id", "lead_id"]), _maybe(st.text(max_size=8)),
        max_size=3)),
    "number": _maybe(st.text(max_size=8)),
    "status_transitions": _maybe(st.fixed_dictionaries({}, optional={
        "paid_at": _maybe(st.integers(min_value=0, max_value=2**40))})),
})
STRIPE_EVENT = st.fixed_dictionaries({"object": st.just("event")}, optional={
    "id": _maybe(st.text(min_size=1, max_size=20)),
    "type": _maybe(st.sampled_from(["payment_intent.succeeded", "payment_intent.payment_failed",
                                    "invoice.paid", "customer.created"])),
    "created": _maybe(st.integers(min_value=0, max_value=2**40)),
    "data": _maybe(st.fixed_dictionaries({}, optional={"object": _maybe(INTENT)})),
})
STRIPE_BODY = st.one_of(STRIPE_EVENT, STRIPE_EVENT, ANY_JSON)

FORM = st.dictionaries(
    st.sampled_from(["name", "email", "phone", "company", "companySize", "employees", "budget",
                     "location", "country", "industry", "other"]),
    _maybe(st.text(max_size=30) | st.integers() | st.floats(allow_nan=False,
                                                            allow_infinity=False)),
    max_size=6,
)
MEETING = st.fixed_dictionaries({}, optional={
    "event": _maybe(st.sampled_from(["meeting.booked", "meeting.rescheduled", "canceled"])),
    "meetingId": _maybe(st.text(min_size=1, max_size=12)),
    "meetingType": _maybe(st.sampled_from(["intro", "demo", ""])),
    "startTime": _maybe(st.sampled_from(["2030-01-15T15:00:00Z", "2030-01-15",
                                         "9999-12-31T23:59:59-05:00",
                                         "0001-01-01T00:00:00+14:00"]) | st.integers()),
    "endTime": _maybe(st.sampled_from(["2030-01-15T16:00:00Z"])),
    "assignee": _maybe(st.fixed_dictionaries({}, optional={"name": _maybe(st.text(max_size=9)),
                                                           "email": _maybe(st.text(max_size=9))})),
    "form": _maybe(FORM),
})
CHILI_BODY = st.one_of(MEETING.map(raw), MEETING.map(raw), ANY_JSON.map(raw),
                       st.binary(max_size=60))


def _check(db, before: dict[str, int], r, stored_on: set[int]) -> None:
    assert r.status_code < 500, r.text
    if r.status_code not in stored_on:
        assert counts(db) == before, f"{r.status_code} {r.text} stored something"
    if r.status_code >= 400:
        assert "detail" in r.json()


@FUZZ
@given(events=HS_BODY)
def test_fuzz_hubspot(hooks, quiet_settings, db, events):
    before = counts(db)
    r = post(hooks, quiet_settings, HUBSPOT, raw(events))
    _check(db, before, r, {200})
    assert r.status_code in (200, 400)


@FUZZ
@given(event=STRIPE_BODY)
def test_fuzz_stripe(hooks, quiet_settings, db, event):
    before = counts(db)
    r = post(hooks, quiet_settings, STRIPE, raw(event))
    _check(db, before, r, {200})
    assert r.status_code in (200, 400)


@FUZZ
@given(body=CHILI_BODY)
def test_fuzz_chilipiper(hooks, quiet_settings, db, body):
    before = counts(db)
    r = post(hooks, quiet_settings, CHILIPIPER, body)
    _check(db, before, r, {200})
    assert r.status_code in (200, 400, 422)

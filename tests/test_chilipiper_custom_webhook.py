"""ChiliPiper's real Custom Webhook: the flat body of the help center's "Custom Webhook
Configuration" (New Meeting / Meeting Update / Canceled Meeting), authenticated by
the token in the URL (ChiliPiper sends no custom header), with two secrets valid
during a rotation; the router's form fields mapped to routing criteria by a setting;
a body missing what routing needs refused with a 422 naming the field, nothing
stored."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json

import pytest
from fastapi.testclient import TestClient

from pc_api.main import create_app
from pc_core import collections as c
from pc_core.meetings.auth import TOKEN_PARAM
from pc_core.settings import Settings
from tests.conftest import market_settings

URL = "/v1/meetings/webhooks/chilipiper"


@pytest.fixture
def settings(stores, sandbox_url) -> Settings:
    """Mailgun (and Stripe) at the sandbox, so the partner's email is really sent."""
    return market_settings(stores, sandbox_url)


def documented_body(meeting_id: str = "123e4567-e89b-12d3-a456-426614174000", *,
                    kind: str = "Created", start: str = "2030-03-04T15:00:00.000Z",
                    end: str = "2030-03-04T15:30:00.000Z") -> dict:
    """Every field of ChiliPiper's documented Custom Webhook body, as it sends them."""
    return {
        "type": kind,
        "meetingIdChili": meeting_id,
        "meetingTitle": "Intro Call: Ada Lovelace <> Belkins",
        "meetingDescription": "Booked through the website router",
        "meetingLocation": "https://zoom.us/j/123456789",
        "meetingStartTime": start,
        "meetingEndTime": end,
        "meetingTypeName": "Intro Call",
        "meetingTypeIdChili": "5f9d88b7-0a7c-4c1e-9d22-7d0e6a1d2b11",
        "hostEmail": "sam.rep@belkins.example.com",
        "hostFullName": "Sam Rep",
        "hostIdChili": "host-1",
        "assigneeEmail": "sam.rep@belkins.example.com",
        "assigneeFullName": "Sam Rep",
        "assigneeIdChili": "host-1",
        "primaryGuestEmail": "ada@acme.example.com",
        "primaryGuestTimeZone": "America/New_York",
        "primaryGuestDataFields": {
            "FirstName": "Ada",
            "LastName": "Lovelace",
            "Email": "ada@acme.example.com",
            "Company": "Acme Analytics",
            "Phone": "+1 555 0100",
            "Company_Size__c": "201-500",
            "Budget__c": "$10,000+",
            "Country": "US",
            "Industry": "SaaS",
        },
        "additionalGuests": ["grace@acme.example.com"],
        "bookerEmail": "ada@acme.example.com",
        "bookerName": "Ada Lovelace",
        "workspaceName": "Belkins Inbound",
        "productFeatureType": "ConciergeRouter",
        "productFeatureName": "Website demo router",
        "distributionName": "Partner agencies",
    }


def post(client: TestClient, body: dict | bytes, token: str | None = None, **headers: str):
    params = {TOKEN_PARAM: token} if token is not None else {}
    headers = {name.replace("_", "-"): value for name, value in headers.items()}
    if isinstance(body, dict):
        return client.post(URL, params=params, json=body, headers=headers)
    return client.post(URL, params=params, content=body,
                       headers={"content-type": "application/json", **headers})


@pytest.fixture
def routed(client, world):
    """Agency A takes Intro Calls from US SaaS companies of 51+ with budgets of $5,000+."""
    r = client.put(f"/v1/partners/{world.partner_a}/routing", headers=world.owner.headers,
                   json={"meeting_types": ["Intro Call"], "company_size_min": "51-200",
                         "budget_min_cents": 500_000, "locations": ["US"],
                         "industries": ["SaaS"]})
    assert r.status_code == 200, r.text
    return world


def stored(db) -> tuple[int, int]:
    return (db[c.MEETINGS].count_documents({}),
            db[c.LEADS].count_documents({"source": "chilipiper"}))


# --- the booking ----------------------------------------------------------------------

def test_documented_booking_by_token_url_creates_routed_lead_and_email(
        client, routed, settings, db, mailbox):
    body = documented_body()
    body["someFieldChiliPiperAddsLater"] = {"nested": [1, 2]}
    r = post(client, body, token=settings.chilipiper_secret)  # no header at all
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "created" and out["partner_id"] == routed.partner_a
    assert out["meeting_id"] == body["meetingIdChili"] and not out["unassigned"]

    lead = db[c.LEADS].find_one({"_id": out["lead_id"]})
    assert lead["partner_id"] == routed.partner_a and lead["source"] == "chilipiper"
    assert lead["contact_name"] == "Ada Lovelace"
    assert lead["contact_email"] == "ada@acme.example.com"
    assert lead["contact_phone"] == "+1 555 0100" and lead["company"] == "Acme Analytics"
    assert lead["company_size"] == "201-500" and lead["budget_cents"] == 1_000_000
    assert lead["location"] == "US" and lead["industry"] == "SaaS"
    assert lead["stage"] == "meeting_scheduled"
    assert lead["scheduled_date"].isoformat().startswith("2030-03-04T15:00")

    meeting = db[c.MEETINGS].find_one({"_id": f"chilipiper:{body['meetingIdChili']}"})
    assert meeting["meeting_type"] == "Intro Call" and meeting["status"] == "scheduled"
    assert meeting["assignee"]["email"] == "sam.rep@belkins.example.com"
    details = meeting["chilipiper"]
    assert details["workspaceName"] == "Belkins Inbound"
    assert details["distributionName"] == "Partner agencies"
    assert details["primaryGuestTimeZone"] == "America/New_York"
    assert {"name": "Budget__c", "value": "$10,000+"} in details["primaryGuestDataFields"]
    assert "someFieldChiliPiperAddsLater" not in details

    # The partner's admin is emailed (Mailgun sandbox) and sees the lead; B does not.
    items = mailbox.get("/messages", params={"to": routed.admin_a.email}).json()["items"]
    assert len(items) == 1 and "Acme Analytics" in items[0]["subject"]
    assert client.get(f"/v1/leads/{lead['_id']}",
                      headers=routed.admin_a.headers).status_code == 200
    assert client.get(f"/v1/leads/{lead['_id']}",
                      headers=routed.admin_b.headers).status_code == 404

    again = post(client, body, token=settings.chilipiper_secret)
    assert again.json()["status"] == "duplicate" and stored(db) == (1, 1)


def test_meeting_update_and_canceled_meeting(client, routed, settings, db):
    token = settings.chilipiper_secret
    lead_id = post(client, documented_body("m-upd"), token=token).json()["lead_id"]
    moved = documented_body("m-upd", kind="Updated", start="2030-03-06T09:00:00.000Z",
                            end="2030-03-06T09:30:00.000Z")
    r = post(client, moved, token=token)
    assert r.status_code == 200 and r.json()["status"] == "rescheduled"
    lead = db[c.LEADS].find_one({"_id": lead_id})
    assert lead["scheduled_date"].isoformat().startswith("2030-03-06T09:00")
    # An update that does not move the meeting (a reassignment) changes nothing.
    same = documented_body("m-upd", kind="Updated", start="2030-03-06T09:00:00.000Z")
    assert post(client, same, token=token).json()["status"] == "unchanged"
    cancel = post(client, documented_body("m-upd", kind="Canceled",
                                          start="2030-03-06T09:00:00.000Z"), token=token)
    assert cancel.json()["status"] == "cancelled"
    assert db[c.LEADS].find_one({"_id": lead_id})["meeting_status"] == "cancelled"
    assert stored(db) == (1, 1)


def test_form_fields_as_a_list_of_name_value_pairs(client, routed, settings, db):
    body = documented_body("m-list")
    body["primaryGuestDataFields"] = [{"name": k, "value": v}
                                      for k, v in body["primaryGuestDataFields"].items()]
    r = post(client, body, token=settings.chilipiper_secret)
    assert r.status_code == 200 and r.json()["partner_id"] == routed.partner_a


def test_unanswered_criteria_go_to_the_unassigned_queue_not_a_422(client, routed, settings,
                                                                  db):
    body = documented_body("m-bare")
    body["primaryGuestDataFields"] = {"Email": "someone@example.com"}
    r = post(client, body, token=settings.chilipiper_secret)
    assert r.status_code == 200 and r.json()["unassigned"] is True
    lead = db[c.LEADS].find_one({"_id": r.json()["lead_id"]})
    assert lead["partner_id"] == routed.operator and lead["contact_email"] == \
        "someone@example.com"


# --- the form-field mapping setting -----------------------------------------------------

def test_form_field_mapping_is_a_setting(stores, sandbox_url, db, world):
    """The operator's router calls company size "How many employees?" and budget
    "Budget range": the setting maps them, for every partner alike."""
    mapped = market_settings(stores, sandbox_url, chilipiper_form_fields={
        "company_size": ["How many employees?"], "budget": ["Budget range"]})
    mapped = mapped.model_copy(update={"mongodb_db": db.name})
    body = documented_body("m-map")
    fields = body["primaryGuestDataFields"]
    fields["how_many_employees?"] = fields.pop("Company_Size__c")  # compared loosely
    fields["Budget Range"] = fields.pop("Budget__c")
    with TestClient(create_app(mapped)) as client:
        client.put(f"/v1/partners/{world.partner_a}/routing", headers=world.owner.headers,
                   json={"meeting_types": ["Intro Call"], "company_size_min": "51-200",
                         "budget_min_cents": 500_000})
        r = post(client, body, token=mapped.chilipiper_secret)
        assert r.status_code == 200 and r.json()["partner_id"] == world.partner_a
    lead = db[c.LEADS].find_one({"_id": r.json()["lead_id"]})
    assert lead["company_size"] == "201-500" and lead["budget_cents"] == 1_000_000
    # Criteria the setting leaves out keep their defaults (Country, Industry).
    assert lead["location"] == "US" and lead["industry"] == "SaaS"
    assert mapped.chilipiper_form_fields["location"][0] == "Country"


def test_unknown_criterion_in_the_mapping_is_refused():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="budgte"):
        Settings(chilipiper_form_fields={"budgte": ["Budget"]})
    with pytest.raises(ValidationError, match="at least one"):
        Settings(chilipiper_form_fields={"budget": []})


# --- authentication -------------------------------------------------------------------

def test_token_rotation_header_and_hmac(stores, sandbox_url, db, world):
    rotating = market_settings(stores, sandbox_url, chilipiper_secret="new-secret-2",
                               chilipiper_secret_previous="old-secret-1")
    rotating = rotating.model_copy(update={"mongodb_db": db.name})
    with TestClient(create_app(rotating)) as client:
        for i, token in enumerate(("new-secret-2", "old-secret-1")):
            r = post(client, documented_body(f"rot-{i}"), token=token)
            assert r.status_code == 200, (token, r.text)
        for bad in ("", "new-secret-", "old-secret-1x", "chilipiper-dev-secret"):
            assert post(client, documented_body("rot-bad"), token=bad).status_code == 401
        assert post(client, documented_body("rot-bad")).status_code == 401
        assert stored(db) == (2, 2)  # nothing from the refused ones
        # The header and the body's HMAC still work, with either secret.
        r = post(client, documented_body("rot-h"), x_pc_webhook_secret="old-secret-1")
        assert r.status_code == 200
        raw = json.dumps(documented_body("rot-s")).encode()
        sig = hmac.new(b"new-secret-2", raw, hashlib.sha256).hexdigest()
        assert post(client, raw, x_pc_signature=f"sha256={sig}").status_code == 200
        assert post(client, raw + b" ", x_pc_signature=sig).status_code == 401


# --- what routing needs ---------------------------------------------------------------

@pytest.mark.parametrize("change,field", [
    (lambda b: b.pop("meetingIdChili"), "meetingIdChili"),
    (lambda b: b.update(meetingIdChili=""), "meetingIdChili"),
    (lambda b: b.pop("meetingStartTime"), "meetingStartTime"),
    (lambda b: b.update(meetingStartTime="next Tuesday"), "meetingStartTime"),
    (lambda b: (b.pop("meetingTypeName"), b.pop("meetingTypeIdChili")), "meetingTypeName"),
    (lambda b: b.update(meetingEndTime="later"), "meetingEndTime"),
])
def test_missing_what_routing_needs_is_422_naming_it_and_stores_nothing(
        client, routed, settings, db, change, field):
    body = copy.deepcopy(documented_body("m-bad"))
    change(body)
    r = post(client, body, token=settings.chilipiper_secret)
    assert r.status_code == 422, r.text
    assert field in json.dumps(r.json()["detail"])
    assert stored(db) == (0, 0)


def test_meeting_type_id_stands_in_for_a_missing_name(client, world, settings, db):
    r = client.put(f"/v1/partners/{world.partner_a}/routing", headers=world.owner.headers,
                   json={"meeting_types": ["5f9d88b7-0a7c-4c1e-9d22-7d0e6a1d2b11"]})
    assert r.status_code == 200
    body = documented_body("m-typeid")
    body.pop("meetingTypeName")
    r = post(client, body, token=settings.chilipiper_secret)
    assert r.status_code == 200 and r.json()["partner_id"] == world.partner_a


def test_the_earlier_shape_still_works_with_the_token(client, routed, settings, db):
    old = {"event": "meeting.booked", "meetingId": "old-1", "meetingType": "Intro Call",
           "startTime": "2030-01-15T15:00:00Z",
           "form": {"name": "Ada", "email": "ada@acme.example.com", "company": "Acme",
                    "companySize": "201-500", "budget": "$10,000+", "location": "US",
                    "industry": "SaaS"}}
    r = post(client, old, token=settings.chilipiper_secret)
    assert r.status_code == 200 and r.json()["partner_id"] == routed.partner_a

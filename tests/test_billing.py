"""Monthly invoices against nx-27017 and the Stripe sandbox: identical rebuilds,
locked invoices left alone with corrections carried to the next open month, the
asset check, odd cents, Stripe invoices and ``invoice.paid``, scoped routes."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
import stripe
from dagster import materialize

from pc_core import collections as c
from pc_core.billing.build import build_month
from pc_core.billing.checks import check_month_totals
from pc_core.billing.refunds import record_refund
from pc_core.billing.stripe_invoices import finalize_invoice, finalize_month
from pc_core.settings import Settings
from pc_pipelines.billing.assets import CHECK_NAME, monthly_invoices
from pc_pipelines.definitions import defs
from pc_pipelines.resources import PlatformResource
from tests.billing_helpers import completed_purchase
from tests.conftest import market_settings
from tests.test_marketplace_purchases import _buy, _events_for, _forward

OCT, NOV = "2026-10", "2026-11"


def at(day: int, hour: int = 12, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


@pytest.fixture
def settings(stores, sandbox_url) -> Settings:
    return market_settings(stores, sandbox_url)


@pytest.fixture
def sdk(settings) -> stripe.StripeClient:
    return stripe.StripeClient(settings.stripe_secret_key,
                               base_addresses={"api": settings.stripe_api_base})


def _october(db, world) -> dict[str, dict]:
    """Agency B buys from A and from the operator in October, with odd cents."""
    b, a, op = world.partner_b, world.partner_a, world.operator
    return {
        "big": completed_purchase(db, b, a, 10_001, at(3)),       # 20% of 100.01 = 20.002 → 2000
        "odd": completed_purchase(db, b, a, 333, at(5)),          # 66.6 → 67
        "cent": completed_purchase(db, b, a, 1, at(5, 13)),       # 0.2 → 0
        "half": completed_purchase(db, b, a, 2_5, at(6)),         # 5.0 → 5
        "operator": completed_purchase(db, b, op, 999, at(7), operator_seller=True),
        "a_buys": completed_purchase(db, a, b, 12_345, at(9)),    # 2469
        "other_month": completed_purchase(db, b, a, 500, at(2, month=11)),
    }


def _invoice(db, partner_id: str, month: str) -> dict:
    return db[c.INVOICES].find_one({"_id": f"{partner_id}:{month}"})


def test_month_rebuilt_twice_is_identical_with_exact_cents(db, world):
    bought = _october(db, world)
    record_refund(db, bought["odd"]["_id"], amount_cents=1, now=at(20))  # 1 cent back
    first = build_month(db, OCT, now=at(1, 0, month=11))
    assert first.created == 3 and first.conflicts == 0  # B, A (buyer and seller), operator
    before = {d["_id"]: d for d in db[c.INVOICES].find({})}
    second = build_month(db, OCT, now=at(2, 0, month=11))
    assert (second.created, second.updated, second.unchanged) == (0, 0, 3)
    assert {d["_id"]: d for d in db[c.INVOICES].find({})} == before

    inv = _invoice(db, world.partner_b, OCT)
    assert [ln["id"] for ln in inv["lines"]] == [
        f"p:{bought[k]['_id']}" for k in ("big", "odd", "cent", "half", "operator")
    ] + [f"r:{bought['odd']['_id']}"]
    assert [(ln["price_cents"], ln["commission_cents"], ln["total_cents"])
            for ln in inv["lines"]] == [(10_001, 2_000, 12_001), (333, 67, 400), (1, 0, 1),
                                        (25, 5, 30), (999, 0, 999), (-1, 0, -1)]
    assert inv["purchases_cents"] == 12_001 + 400 + 1 + 30 + 999 == 13_431
    assert inv["credits_cents"] == 1 and inv["total_cents"] == 13_430
    assert inv["price_cents"] + inv["commission_cents"] == inv["total_cents"]
    assert inv["status"] == "draft" and inv["purchase_count"] == 5
    # The seller's earnings are a statement, not a charge.
    assert inv["seller_statement"] == {"sales_count": 1, "sales_price_cents": 12_345,
                                       "refunded_count": 0, "refunded_price_cents": 0}
    seller_a = _invoice(db, world.partner_a, OCT)
    assert seller_a["total_cents"] == 12_345 + 2_469
    assert seller_a["seller_statement"]["sales_count"] == 4
    assert seller_a["seller_statement"]["refunded_count"] == 1
    operator = _invoice(db, world.operator, OCT)
    assert operator["lines"] == [] and operator["total_cents"] == 0
    assert check_month_totals(db, OCT).passed


def test_draft_follows_the_purchases_and_partial_refund_splits_exactly(db, world):
    bought = _october(db, world)
    build_month(db, OCT)
    record_refund(db, bought["big"]["_id"], amount_cents=6_001, now=at(25))
    report = build_month(db, OCT)
    assert report.updated == 2  # the buyer's credit, the seller's statement
    inv = _invoice(db, world.partner_b, OCT)
    credit = next(ln for ln in inv["lines"] if ln["id"] == f"r:{bought['big']['_id']}")
    # 6,001 of 12,001 back: commission share 6001*2000//12001 = 1000, price 5001.
    assert (credit["price_cents"], credit["commission_cents"]) == (-5_001, -1_000)
    assert credit["total_cents"] == -6_001 and inv["rev"] == 2
    assert check_month_totals(db, OCT).passed


def test_paid_invoice_untouched_late_changes_land_on_next_open_month(db, world, settings, sdk):
    bought = _october(db, world)
    build_month(db, OCT)
    sent = finalize_month(db, settings, OCT)
    assert sent.errors == [] and sent.paid == 2 and sent.closed_empty == 1
    paid = _invoice(db, world.partner_b, OCT)
    assert paid["status"] == "paid" and paid["stripe_invoice_id"]
    stripe_inv = sdk.v1.invoices.retrieve(paid["stripe_invoice_id"])
    assert stripe_inv.status == "paid" and stripe_inv.total == paid["total_cents"]
    assert stripe_inv.metadata["pc_invoice_id"] == paid["_id"]
    assert len(stripe_inv.lines.data) == 5
    customer = db[c.PARTNERS].find_one({"_id": world.partner_b})["stripe_customer_id"]
    assert customer == stripe_inv.customer
    # Sending again changes nothing (the invoices are closed).
    assert finalize_month(db, settings, OCT).already == 3

    # November: a refund of an October purchase, and a purchase that completed on
    # October 31 but reached the store after October was closed.
    record_refund(db, bought["big"]["_id"], now=at(4, month=11))
    late = completed_purchase(db, world.partner_b, world.partner_a, 700, at(31, 23))
    rebuilt = build_month(db, OCT)
    assert rebuilt.locked == 3 and rebuilt.created == 0 and rebuilt.updated == 0
    assert _invoice(db, world.partner_b, OCT) == paid
    assert not check_month_totals(db, OCT).passed  # until the correction is carried

    build_month(db, NOV)
    nov = _invoice(db, world.partner_b, NOV)
    assert [(ln["id"], ln["total_cents"]) for ln in nov["lines"]] == [
        (f"p:{bought['other_month']['_id']}", 500 + 100),
        (f"r:{bought['big']['_id']}", -12_001),
        (f"adj:{OCT}:p:{late['_id']}", 700 + 140),
    ]
    assert nov["adjustments_by_month"] == {OCT: 840}
    assert nov["total_cents"] == 600 - 12_001 + 840
    assert check_month_totals(db, OCT).passed and check_month_totals(db, NOV).passed
    again = build_month(db, NOV)
    assert again.unchanged == again.partners and _invoice(db, world.partner_b, NOV) == nov
    assert _invoice(db, world.partner_b, OCT) == paid


def test_asset_check_passes_and_fails(db, world, settings, monkeypatch):
    _october(db, world)
    monkeypatch.setenv("PC_STRIPE_API_BASE", settings.stripe_api_base)
    platform = PlatformResource.of(settings)
    result = materialize([monthly_invoices], partition_key="2026-10",
                         resources={"platform": platform},
                         run_config={"ops": {"monthly_invoices": {"config": {
                             "send_to_stripe": False}}}})
    assert result.success
    [check] = result.get_asset_check_evaluations()
    assert check.check_name == CHECK_NAME and check.passed
    meta = result.asset_materializations_for_node("monthly_invoices")[0].metadata
    assert meta["invoices"].value == 3 and meta["created"].value == 3
    # A tampered invoice (or purchases that changed since the build) fails the check.
    inv = _invoice(db, world.partner_b, OCT)
    db[c.INVOICES].replace_one({"_id": inv["_id"]}, {**inv, "total_cents": inv["total_cents"] + 1})
    failed = check_month_totals(db, OCT)
    assert not failed.passed
    assert failed.mismatches == [{"partner_id": world.partner_b,
                                  "expected_cents": inv["total_cents"],
                                  "billed_cents": inv["total_cents"] + 1,
                                  "difference_cents": -1}]
    # Re-materialising (a backfill) rebuilds the draft, sends it, and passes again.
    result = materialize([monthly_invoices], partition_key="2026-10",
                         resources={"platform": platform})
    [check] = result.get_asset_check_evaluations()
    assert check.passed and _invoice(db, world.partner_b, OCT)["status"] == "paid"


def test_invoice_paid_webhook_marks_paid(client, db, world, settings, sdk, stripe_admin,
                                         market_webhook_receiver):
    _october(db, world)
    build_month(db, OCT)
    doc = finalize_invoice(db, settings, f"{world.partner_b}:{OCT}", settle_out_of_band=False)
    assert doc["status"] == "finalized" and doc["stripe_invoice_number"]
    sdk.v1.invoices.pay(doc["stripe_invoice_id"], params={"payment_method": "pm_card_visa"})
    deadline = time.monotonic() + 15
    event = None
    while event is None and time.monotonic() < deadline:
        for r in list(market_webhook_receiver.requests):
            body = json.loads(r.body)
            if body["type"] == "invoice.paid" and \
                    body["data"]["object"]["id"] == doc["stripe_invoice_id"]:
                event = r
        time.sleep(0.05)
    assert event is not None
    [answer] = _forward(client, [event])
    assert answer.status_code == 200 and answer.json()["result"] == "invoice-paid"
    paid = _invoice(db, world.partner_b, OCT)
    assert paid["status"] == "paid" and paid["paid_at"] is not None
    [dup] = _forward(client, [event])
    assert dup.json()["duplicate"] is True
    # A forged event is refused before anything is read.
    bad = client.post("/v1/webhooks/stripe", content=event.body,
                      headers={"Stripe-Signature": "t=1,v1=00",
                               "Content-Type": "application/json"})
    assert bad.status_code == 400
    # Rebuilding the paid month changes nothing.
    assert build_month(db, OCT).locked == 1 and _invoice(db, world.partner_b, OCT) == paid


def test_signed_invoice_paid_for_unknown_invoice_is_ignored(client, settings):
    payload = json.dumps({"id": "evt_billing_1", "object": "event", "type": "invoice.paid",
                          "created": int(time.time()),
                          "data": {"object": {"id": "in_nope", "object": "invoice",
                                              "metadata": {}}}})
    header = stripe.WebhookSignature.generate_signature_header(
        payload, settings.stripe_webhook_secret, timestamp=int(time.time()))
    if not isinstance(header, str):  # older SDKs return the bare signature
        header = f"t={int(time.time())},v1={header}"
    r = client.post("/v1/webhooks/stripe", content=payload,
                    headers={"Stripe-Signature": header, "Content-Type": "application/json"})
    assert r.status_code == 200 and r.json()["result"] == "unknown-invoice"


def test_routes_are_scoped_by_partner(client, db, world):
    _october(db, world)
    build_month(db, OCT)
    build_month(db, NOV)
    mine = client.get("/v1/billing/invoices", headers=world.user_b.headers)
    assert mine.status_code == 200
    assert [i["id"] for i in mine.json()["items"]] == [f"{world.partner_b}:{NOV}",
                                                       f"{world.partner_b}:{OCT}"]
    assert "lines" not in mine.json()["items"][0]
    one = client.get(f"/v1/billing/invoices/{world.partner_b}:{OCT}", headers=world.user_b.headers)
    assert one.status_code == 200 and len(one.json()["lines"]) == 5
    assert one.json()["total_cents"] == 13_431
    other = f"/v1/billing/invoices/{world.partner_a}:{OCT}"
    assert client.get(other, headers=world.admin_b.headers).status_code == 404
    assert client.get("/v1/billing/invoices", params={"partner_id": world.partner_a},
                      headers=world.admin_b.headers).status_code == 404
    assert client.get(other, headers=world.owner.headers).status_code == 200
    everything = client.get("/v1/billing/invoices", params={"month": OCT, "limit": 2},
                            headers=world.owner.headers).json()
    assert len(everything["items"]) == 2 and everything["next_cursor"]
    rest = client.get("/v1/billing/invoices", params={"month": OCT, "cursor":
                                                      everything["next_cursor"]},
                      headers=world.owner.headers).json()
    assert len(everything["items"]) + len(rest["items"]) == 3
    filtered = client.get("/v1/billing/invoices", params={"partner_id": world.partner_a},
                          headers=world.owner.headers).json()
    assert {i["partner_id"] for i in filtered["items"]} == {world.partner_a}
    assert client.get("/v1/billing/invoices", params={"month": "2026-13"},
                      headers=world.owner.headers).status_code in (400, 422)


def test_completed_purchase_is_stamped_with_its_month_and_invoiced(
        client, db, world, settings, stripe_admin, market_webhook_receiver):
    _, _, purchase = _buy(client, world, db, price=10_003)
    stripe_admin.post(f"/payment_intents/{purchase['payment_intent_id']}/succeed") \
        .raise_for_status()
    [event] = _events_for(market_webhook_receiver, purchase["payment_intent_id"],
                          {"payment_intent.succeeded"}, 1)
    assert _forward(client, [event])[0].status_code == 200
    done = db[c.PURCHASES].find_one({"_id": purchase["id"]})
    month = f"{done['completed_at']:%Y-%m}"
    assert done["month"] == month
    build_month(db, month)
    inv = _invoice(db, world.partner_b, month)
    assert [(ln["purchase_id"], ln["price_cents"], ln["commission_cents"])
            for ln in inv["lines"]] == [(purchase["id"], 10_003, 2_001)]


def test_definitions_register_billing():
    repo = defs.get_repository_def()
    assert "monthly_invoices" in {k.to_user_string()
                                  for k in repo.asset_graph.get_all_asset_keys()}
    schedule = repo.get_schedule_def("monthly_invoices_schedule")
    assert schedule.cron_schedule == "0 0 1 * *" and schedule.execution_timezone == "UTC"
    assert repo.has_job("monthly_invoices_job")

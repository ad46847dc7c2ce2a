"""Billing loose ends: one month naming (partition key = invoice month = API month),
the current month never sent or locked by the monthly job's default config, and a
refund made in Stripe (``charge.refunded``, as the Dashboard sends it) credited on the
buyer's open invoice through ``record_refund``."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
import stripe
from dagster import DagsterUnknownPartitionError, build_asset_context, materialize

from pc_core import collections as c
from pc_core.billing.build import build_month
from pc_core.billing.months import has_ended, shift
from pc_core.billing.stripe_invoices import MonthStillOpen, finalize_month
from pc_core.settings import Settings
from pc_core.store.keys import month_key
from pc_core.timeutil import utcnow
from pc_pipelines.billing.assets import MonthlyInvoicesConfig, monthly_invoices
from pc_pipelines.definitions import defs
from pc_pipelines.resources import PlatformResource
from tests.billing_helpers import completed_purchase
from tests.conftest import market_settings
from tests.test_marketplace_purchases import _buy, _events_for, _forward


@pytest.fixture
def settings(stores, sandbox_url) -> Settings:
    return market_settings(stores, sandbox_url)


@pytest.fixture
def sdk(settings) -> stripe.StripeClient:
    return stripe.StripeClient(settings.stripe_secret_key,
                               base_addresses={"api": settings.stripe_api_base})


def _platform(settings: Settings) -> PlatformResource:
    return PlatformResource.of(settings)


# -- one month naming ------------------------------------------------------------------

def test_partitions_are_named_like_the_api_months_and_the_schedule_and_backfill_use_them(
        client, db, world, settings, monkeypatch):
    repo = defs.get_repository_def()
    job = repo.get_job("monthly_invoices_job")
    keys = job.partitions_def.get_partition_keys(
        current_time=datetime(2026, 12, 1, 0, 0, 1, tzinfo=UTC))
    assert keys[0] == "2025-01" and keys[-1] == "2026-11"
    # The schedule's tick on the 1st asks for the month that ended, by the same name.
    from dagster import build_schedule_context

    schedule = repo.get_schedule_def("monthly_invoices_schedule")
    with build_schedule_context(scheduled_execution_time=datetime(2026, 12, 1, tzinfo=UTC),
                                repository_def=repo) as context:
        [request] = schedule.evaluate_tick(context).run_requests
    assert request.partition_key == "2026-11"
    # A backfill of a past month by its key builds the invoices the API lists by it.
    completed_purchase(db, world.partner_b, world.partner_a, 1_000,
                       datetime(2026, 10, 5, tzinfo=UTC))
    monkeypatch.setenv("PC_STRIPE_API_BASE", settings.stripe_api_base)
    result = job.execute_in_process(partition_key="2026-10",
                                    resources={"platform": _platform(settings)},
                                    run_config={"ops": {"monthly_invoices": {"config": {
                                        "send_to_stripe": False}}}})
    assert result.success
    listed = client.get("/v1/billing/invoices", params={"month": "2026-10"},
                        headers=world.admin_b.headers).json()["items"]
    assert [(i["id"], i["month"]) for i in listed] == [(f"{world.partner_b}:2026-10",
                                                        "2026-10")]


# -- the open month is never sent -------------------------------------------------------

def test_the_current_month_is_never_finalised_or_locked_by_the_default_config(
        db, world, settings, monkeypatch):
    now = utcnow()
    current = month_key(now)
    assert not has_ended(current) and has_ended(shift(current, -1))
    completed_purchase(db, world.partner_b, world.partner_a, 2_500, now)
    monkeypatch.setenv("PC_STRIPE_API_BASE", settings.stripe_api_base)
    # The UI cannot pick it: the current month is not a partition, even in its last
    # second, and asking for it by name is refused.
    job = defs.get_repository_def().get_job("monthly_invoices_job")
    for moment in (now, datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC),
                   datetime(2026, 12, 1, 0, 0, 0, tzinfo=UTC)):
        assert month_key(moment) not in job.partitions_def.get_partition_keys(
            current_time=moment)
    with pytest.raises(DagsterUnknownPartitionError):
        materialize([monthly_invoices], partition_key=current,
                    resources={"platform": _platform(settings)})
    # And when the asset is run for it anyway, with the default config (send to
    # Stripe): drafts only, nothing locked, nothing sent.
    assert MonthlyInvoicesConfig().send_to_stripe is True
    with build_asset_context(partition_key=current,
                             resources={"platform": _platform(settings)}) as context:
        result = monthly_invoices(context, MonthlyInvoicesConfig())
    assert result.metadata["month_still_open"] is True
    assert "stripe_finalized" not in result.metadata
    invoice = db[c.INVOICES].find_one({"_id": f"{world.partner_b}:{current}"})
    assert invoice["status"] == "draft" and invoice.get("stripe_invoice_id") is None
    assert db[c.PARTNERS].find_one({"_id": world.partner_b}).get("stripe_customer_id") is None
    with pytest.raises(MonthStillOpen):
        finalize_month(db, settings, current)
    # A purchase later this month still lands on the same, open invoice.
    completed_purchase(db, world.partner_b, world.partner_a, 500, utcnow())
    build_month(db, current)
    again = db[c.INVOICES].find_one({"_id": invoice["_id"]})
    assert (again["status"], again["purchase_count"]) == ("draft", 2)


# -- charge.refunded --------------------------------------------------------------------

def _signed(settings: Settings, event: dict) -> tuple[str, dict[str, str]]:
    """The body and headers Stripe would send: ``Stripe-Signature`` made by the SDK's
    signature scheme (HMAC-SHA256 of ``{t}.{body}``) with the endpoint secret."""
    payload = json.dumps(event)
    now = int(time.time())
    header = stripe.WebhookSignature.generate_signature_header(
        payload, settings.stripe_webhook_secret, timestamp=now)
    if not isinstance(header, str):  # older SDKs return the bare signature
        header = f"t={now},v1={header}"
    return payload, {"Stripe-Signature": header, "Content-Type": "application/json"}


def charge_refunded_event(charge_id: str, intent_id: str, amount: int, refunded: int,
                          *, metadata: dict | None = None, previous: int = 0) -> dict:
    """A ``charge.refunded`` event field for field as Stripe documents the Event and the
    Charge objects (API 2022-11-15+: ``refunds`` not expanded, so absent)."""
    created = int(time.time())
    return {
        "id": f"evt_{charge_id}_{refunded}", "object": "event", "api_version": "2024-06-20",
        "created": created, "livemode": False, "pending_webhooks": 1, "type": "charge.refunded",
        "request": {"id": None, "idempotency_key": None},  # made in the Dashboard
        "data": {
            "object": {
                "id": charge_id, "object": "charge", "amount": amount,
                "amount_captured": amount, "amount_refunded": refunded,
                "application": None, "application_fee": None, "application_fee_amount": None,
                "balance_transaction": f"txn_{charge_id}",
                "billing_details": {"address": {"city": None, "country": None, "line1": None,
                                                "line2": None, "postal_code": None,
                                                "state": None},
                                    "email": None, "name": None, "phone": None},
                "calculated_statement_descriptor": "PARTNER CONNECTOR", "captured": True,
                "created": created - 3600, "currency": "usd", "customer": None,
                "description": None, "disputed": False, "failure_balance_transaction": None,
                "failure_code": None, "failure_message": None, "fraud_details": {},
                "invoice": None, "livemode": False, "metadata": metadata or {},
                "on_behalf_of": None,
                "outcome": {"network_status": "approved_by_network", "reason": None,
                            "risk_level": "normal", "risk_score": 32,
                            "seller_message": "Payment complete.", "type": "authorized"},
                "paid": True, "payment_intent": intent_id,
                "payment_method": "pm_1Q0PsIJvEtkwdCNYMSaVuRz6",
                "payment_method_details": {"card": {"brand": "visa", "country": "US",
                                                    "exp_month": 12, "exp_year": 2030,
                                                    "funding": "credit", "last4": "4242"},
                                           "type": "card"},
                "receipt_email": None, "receipt_number": None, "receipt_url": None,
                "refunded": refunded >= amount, "review": None, "shipping": None,
                "source_transfer": None, "statement_descriptor": None,
                "statement_descriptor_suffix": None, "status": "succeeded",
                "transfer_data": None, "transfer_group": None,
            },
            "previous_attributes": {"amount_refunded": previous,
                                    "refunded": False},
        },
    }


def test_a_refund_made_in_the_stripe_dashboard_credits_the_buyer_on_the_open_invoice(
        client, db, world, settings, sdk, stripe_admin, market_webhook_receiver):
    # A purchase completed this month through Stripe and its webhook.
    _, _, purchase = _buy(client, world, db, price=10_000)
    pi = purchase["payment_intent_id"]
    stripe_admin.post(f"/payment_intents/{pi}/succeed").raise_for_status()
    [paid] = _events_for(market_webhook_receiver, pi, {"payment_intent.succeeded"}, 1)
    assert _forward(client, [paid])[0].json()["result"] == "completed"
    month = db[c.PURCHASES].find_one({"_id": purchase["id"]})["month"]

    # Someone refunds 50.00 in Stripe (the Dashboard's call); Stripe sends the event.
    sdk.v1.refunds.create(params={"payment_intent": pi, "amount": 5_000})
    deadline = time.monotonic() + 15
    refunded = []
    while not refunded and time.monotonic() < deadline:
        refunded = [r for r in list(market_webhook_receiver.requests)
                    if json.loads(r.body)["type"] == "charge.refunded"]
        time.sleep(0.05)
    [event] = refunded
    assert _forward(client, [event])[0].json()["result"] == "refund-recorded"
    doc = db[c.PURCHASES].find_one({"_id": purchase["id"]})
    assert (doc["status"], doc["refund_amount_cents"], doc["refund_month"]) == \
        ("refunded", 5_000, month_key(utcnow()))
    assert _forward(client, [event])[0].json()["duplicate"] is True

    # A further partial refund, as Stripe documents the event: the running total grows.
    charge_id = json.loads(event.body)["data"]["object"]["id"]
    body, headers = _signed(settings, charge_refunded_event(
        charge_id, pi, 12_000, 7_500, previous=5_000))
    answer = client.post("/v1/webhooks/stripe", content=body, headers=headers)
    assert answer.status_code == 200 and answer.json()["result"] == "refund-recorded"
    assert db[c.PURCHASES].find_one({"_id": purchase["id"]})["refund_amount_cents"] == 7_500
    # An older, smaller total arriving late changes nothing.
    body, headers = _signed(settings, charge_refunded_event(charge_id, pi, 12_000, 5_000))
    late = client.post("/v1/webhooks/stripe", content=body, headers=headers).json()
    assert late["result"] == "refund-already-recorded"

    # The buyer's open invoice of the month: the purchase and the credit.
    build_month(db, month)
    invoice = db[c.INVOICES].find_one({"_id": f"{world.partner_b}:{month}"})
    assert invoice["status"] == "draft"
    credit = next(ln for ln in invoice["lines"] if ln["id"] == f"r:{purchase['id']}")
    assert credit["total_cents"] == -7_500
    assert invoice["total_cents"] == 12_000 - 7_500


def test_a_dashboard_refund_of_a_locked_months_purchase_lands_on_the_next_open_invoice(
        client, db, world, settings):
    last_month = shift(month_key(utcnow()), -1)
    bought_at = datetime.strptime(f"{last_month}-10", "%Y-%m-%d").replace(tzinfo=UTC)
    purchase = completed_purchase(db, world.partner_b, world.partner_a, 3_000, bought_at)
    build_month(db, last_month)
    invoice_id = f"{world.partner_b}:{last_month}"
    locked = db[c.INVOICES].find_one({"_id": invoice_id})
    db[c.INVOICES].replace_one({"_id": invoice_id}, {**locked, "status": "paid",
                                                     "rev": locked["rev"] + 1})
    body, headers = _signed(settings, charge_refunded_event(
        "ch_locked", purchase["payment_intent_id"], purchase["amount_cents"],
        purchase["amount_cents"], metadata={"purchase_id": purchase["_id"]}))
    answer = client.post("/v1/webhooks/stripe", content=body, headers=headers)
    assert answer.json()["result"] == "refund-recorded"
    current = month_key(utcnow())
    build_month(db, current)
    assert db[c.INVOICES].find_one({"_id": invoice_id})["status"] == "paid"  # untouched
    now_invoice = db[c.INVOICES].find_one({"_id": f"{world.partner_b}:{current}"})
    assert [(ln["id"], ln["total_cents"]) for ln in now_invoice["lines"]] == \
        [(f"r:{purchase['_id']}", -purchase["amount_cents"])]


def test_charge_refunded_that_bills_nothing_or_is_malformed(client, db, world, settings):
    # A charge no purchase of ours made.
    body, headers = _signed(settings, charge_refunded_event("ch_x", "pi_unknown", 900, 900))
    assert client.post("/v1/webhooks/stripe", content=body,
                       headers=headers).json()["result"] == "unknown-purchase"
    # The platform's own refund of a payment it could not deliver: never completed.
    pending = completed_purchase(db, world.partner_b, world.partner_a, 800,
                                 utcnow() - timedelta(minutes=5), month=None,
                                 status="refunded")
    body, headers = _signed(settings, charge_refunded_event(
        "ch_own", pending["payment_intent_id"], pending["amount_cents"],
        pending["amount_cents"]))
    assert client.post("/v1/webhooks/stripe", content=body,
                       headers=headers).json()["result"] == "ignored-refunded"
    assert db[c.PURCHASES].find_one({"_id": pending["_id"]}).get("refund_month") is None
    # A signed event whose amount is not a number: 400, nothing recorded.
    event = charge_refunded_event("ch_bad", pending["payment_intent_id"], 800, 800)
    event["id"] = "evt_bad_amount"
    event["data"]["object"]["amount_refunded"] = "800"
    body, headers = _signed(settings, event)
    assert client.post("/v1/webhooks/stripe", content=body, headers=headers).status_code == 400
    # A forged signature: 400 before anything is read.
    body, _ = _signed(settings, charge_refunded_event("ch_f", "pi_f", 1, 1))
    forged = client.post("/v1/webhooks/stripe", content=body,
                         headers={"Stripe-Signature": f"t={int(time.time())},v1=00",
                                  "Content-Type": "application/json"})
    assert forged.status_code == 400

"""Connect with Express accounts: ``/v1/accounts``, ``/v1/account_links`` and the
hosted onboarding page an account link points at.

As Stripe documents it (docs/external-apis.md "Stripe Connect"): a platform creates
an Express account (``type=express``, requested ``capabilities``), which starts with
``charges_enabled`` / ``payouts_enabled`` false and ``details_submitted`` false; it
then creates an Account Link (``account``, ``type=account_onboarding``,
``refresh_url``, ``return_url``), a single-use URL that expires after a few minutes.
The seller fills in Stripe's hosted form and is sent to ``return_url``; an expired
or already used link sends it to ``refresh_url`` instead. The account's change is
announced with ``account.updated`` (a Connect event: the event names the connected
account in ``account``).

The hosted page here is the sandbox's stand-in for Stripe's form: one page, a
business name and a test bank account (Stripe's test routing ``110000000`` and
account ``000123456789``), no API key (the link is the bearer token).
"""

from __future__ import annotations

import html
import time
from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from . import state
from .errors import invalid_param, not_found
from .events import emit
from .ids import new_id, now
from .params import Params, form_params, get_dict, get_str, merge_metadata
from .render import list_page, respond
from .routing import StripeRoute

router = APIRouter(route_class=StripeRoute)
pages = APIRouter(tags=["stripe sandbox connect pages"])

LINK_SECONDS = 300  # Stripe: an account link expires a few minutes after creation
LINK_TYPES = {"account_onboarding", "account_update"}
ACCOUNT_TYPES = {"express", "standard", "custom"}
TEST_ROUTING, TEST_ACCOUNT = "110000000", "000123456789"
ONBOARDING_DUE = ["business_profile.name", "external_account", "tos_acceptance.date"]


def get_account(st: state.StripeState, account_id: str, param: str = "id") -> dict[str, Any]:
    """A stored connected account or Stripe's 404."""
    account = st.table("account").get(account_id)
    if account is None:
        raise not_found("account", account_id, param)
    return account


def _capabilities(params: Params) -> dict[str, str]:
    wanted = get_dict(params, "capabilities")
    return {name: "inactive" for name, value in wanted.items()
            if isinstance(value, dict) and str(value.get("requested")).lower() == "true"}


@router.post("/v1/accounts")
def create_account(params: Params = Depends(form_params)) -> JSONResponse:
    """Create a connected account; it can take charges and payouts only once onboarded."""
    kind = get_str(params, "type") or "express"
    if kind not in ACCOUNT_TYPES:
        raise invalid_param("type", f"Invalid type: must be one of {sorted(ACCOUNT_TYPES)}")
    with state.changing() as st:
        account: dict[str, Any] = {
            "id": new_id("acct", 16),
            "object": "account",
            "type": kind,
            "business_profile": {"name": None},
            "capabilities": _capabilities(params),
            "charges_enabled": False,
            "payouts_enabled": False,
            "details_submitted": False,
            "country": get_str(params, "country") or "US",
            "created": now(),
            "default_currency": "usd",
            "email": get_str(params, "email"),
            "external_accounts": {"object": "list", "data": [], "has_more": False},
            "metadata": merge_metadata({}, params),
            "requirements": {"currently_due": list(ONBOARDING_DUE), "disabled_reason":
                             "requirements.past_due", "eventually_due": list(ONBOARDING_DUE)},
        }
        st.table("account")[account["id"]] = account
        return respond(st, account, params)


@router.get("/v1/accounts/{account_id}")
def retrieve_account(account_id: str, params: Params = Depends(form_params)) -> JSONResponse:
    with state.reading() as st:
        return respond(st, get_account(st, account_id), params)


@router.get("/v1/accounts")
def list_accounts(params: Params = Depends(form_params)) -> JSONResponse:
    with state.reading() as st:
        return list_page(st, st.table("account").values(), params, "/v1/accounts")


@router.post("/v1/account_links")
def create_account_link(request: Request, params: Params = Depends(form_params)) -> JSONResponse:
    """A single-use onboarding URL on this sandbox, valid for ``LINK_SECONDS``."""
    account_id = get_str(params, "account", required=True) or ""
    link_type = get_str(params, "type", required=True) or ""
    if link_type not in LINK_TYPES:
        raise invalid_param("type", f"Invalid type: must be one of {sorted(LINK_TYPES)}")
    refresh_url = get_str(params, "refresh_url", required=True)
    return_url = get_str(params, "return_url", required=True)
    with state.changing() as st:
        get_account(st, account_id, "account")
        token = new_id("alu", 24)
        created = now()
        st.table("account_link_token")[token] = {
            "id": token, "account": account_id, "type": link_type, "refresh_url": refresh_url,
            "return_url": return_url, "expires_at": created + LINK_SECONDS, "used": False,
            "created": created,
        }
        url = f"{str(request.base_url).rstrip('/')}/stripe/connect/setup/{account_id}/{token}"
        return JSONResponse({"object": "account_link", "created": created,
                             "expires_at": created + LINK_SECONDS, "url": url})


def _usable(link: dict[str, Any] | None) -> bool:
    return link is not None and not link["used"] and link["expires_at"] >= time.time()


_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Stripe sandbox · Connect onboarding</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;color:#1a1f36}}
label{{display:block;margin:.8rem 0 .2rem}}input{{width:100%;padding:.5rem;font-size:1rem}}
button{{margin-top:1.2rem;padding:.6rem 1.2rem;background:#635bff;color:#fff;border:0;
border-radius:4px;font-size:1rem}}</style></head><body>
<p>Stripe sandbox · Express onboarding for <code>{account}</code></p>
<h1>Get paid by {platform}</h1>
<form method="post">
<label for="business_name">Business name</label>
<input id="business_name" name="business_name" required value="{name}">
<label for="routing_number">Routing number (test: {routing})</label>
<input id="routing_number" name="routing_number" required value="{routing}">
<label for="account_number">Account number (test: {acct})</label>
<input id="account_number" name="account_number" required value="{acct}">
<button type="submit">Agree and submit</button>
</form></body></html>"""


@pages.get("/connect/setup/{account_id}/{token}", response_class=HTMLResponse)
def onboarding_page(account_id: str, token: str) -> Any:
    """Stripe's hosted onboarding form (an expired or used link → ``refresh_url``)."""
    with state.reading() as st:
        link = st.table("account_link_token").get(token)
        if link is None or link["account"] != account_id:
            raise HTTPException(404, "no such account link")
        if not _usable(link):
            return RedirectResponse(link["refresh_url"], status_code=303)
        account = st.table("account")[account_id]
        name = (account.get("business_profile") or {}).get("name") or ""
    return HTMLResponse(_PAGE.format(account=html.escape(account_id), platform="the platform",
                                     name=html.escape(name), routing=TEST_ROUTING,
                                     acct=TEST_ACCOUNT))


def complete_onboarding(st: state.StripeState, account: dict[str, Any], business_name: str,
                        last4: str) -> None:
    """The account's requirements are met: charges and payouts enabled, ``account.updated``."""
    previous = {k: account[k] for k in ("charges_enabled", "payouts_enabled",
                                        "details_submitted", "requirements")}
    account["business_profile"] = {**(account.get("business_profile") or {}),
                                   "name": business_name}
    account["details_submitted"] = True
    account["charges_enabled"] = True
    account["payouts_enabled"] = True
    account["capabilities"] = {k: "active" for k in account["capabilities"] or {"transfers": 1}}
    account["requirements"] = {"currently_due": [], "disabled_reason": None,
                               "eventually_due": []}
    account["external_accounts"] = {"object": "list", "has_more": False, "data": [{
        "id": new_id("ba", 24), "object": "bank_account", "last4": last4,
        "routing_number": TEST_ROUTING, "currency": "usd", "account": account["id"]}]}
    emit(st, "account.updated", account, previous_attributes=previous, account=account["id"])


@pages.post("/connect/setup/{account_id}/{token}")
def submit_onboarding(account_id: str, token: str, business_name: str = Form(...),
                      routing_number: str = Form(...), account_number: str = Form(...)) -> Any:
    """The seller submitted the form: the link is used up, the seller goes back to the
    platform's ``return_url``."""
    with state.changing() as st:
        link = st.table("account_link_token").get(token)
        if link is None or link["account"] != account_id:
            raise HTTPException(404, "no such account link")
        if not _usable(link):
            return RedirectResponse(link["refresh_url"], status_code=303)
        digits = account_number.strip()
        if routing_number.strip() != TEST_ROUTING or not digits.isdigit() or len(digits) < 4:
            return HTMLResponse("<p>Use the test routing and account numbers.</p>", 400)
        link["used"] = True
        complete_onboarding(st, st.table("account")[account_id], business_name.strip()[:100],
                            digits[-4:])
        return RedirectResponse(link["return_url"], status_code=303)

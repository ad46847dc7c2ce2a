"""``GET /v1/client-config``: public settings the web client reads at start-up."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from pc_api.deps import AppSettings
from pc_core.settings.client_config import client_config

router = APIRouter(prefix="/v1", tags=["service"])


class ClientConfigOut(BaseModel):
    env: Literal["development", "production"]
    stripe_publishable_key: str = Field(description="Stripe publishable key (public)")
    stripe_mode: Literal["stripe_js", "sandbox"] = Field(
        description="stripe_js: load Stripe.js and its Payment Element; sandbox: confirm "
        "the PaymentIntent against stripe_api_base as Stripe.js would"
    )
    stripe_api_base: str
    dagster_url: str = Field(
        description="The Dagster UI, for links to a sync's run ({dagster_url}/runs/{id}); "
        "empty: no Dagster UI to link to (PC_DAGSTER_URL)"
    )


@router.get("/client-config", response_model=ClientConfigOut)
def get_client_config(settings: AppSettings, response: Response) -> dict:
    """No authentication: nothing here is secret."""
    response.headers["Cache-Control"] = "no-cache"
    return client_config(settings)

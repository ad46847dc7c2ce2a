"""The HubSpot SDK client, pointed at the configured host (real HubSpot or the sandbox).

The SDK has no retry of its own; urllib3's ``Retry`` gives it one that honours
``Retry-After`` on 429 and backs off on 5xx. ``raise_on_status=False`` makes an
exhausted retry surface as the SDK's ``ApiException`` (with the status), not as
urllib3's ``MaxRetryError``.
"""

from __future__ import annotations

from typing import Protocol

from hubspot import HubSpot
from urllib3.util.retry import Retry

from pc_core.observability.vendor_calls import MeteredRetry
from pc_core.settings import Settings

RETRY_STATUSES = (429, 500, 502, 503, 504)


def default_retry(total: int = 6, backoff_factor: float = 0.25) -> Retry:
    """The retry policy of every HubSpot call; it also counts each response for
    ``pc_vendor_requests_total`` (``pc_core.observability.vendor_calls``)."""
    return MeteredRetry(
        total=total,
        connect=3,
        read=3,
        status_forcelist=RETRY_STATUSES,
        backoff_factor=backoff_factor,
        backoff_max=30,
        respect_retry_after_header=True,
        allowed_methods=None,  # POST search/batch reads are safe to repeat
        raise_on_status=False,
    )


def build_client(settings: Settings, access_token: str | None = None) -> HubSpot:
    return HubSpot(
        access_token=access_token,
        host=settings.hubspot_base_url.rstrip("/"),
        retry=default_retry(),
    )


class AccessTokenProvider(Protocol):
    """Hands out a partner's current access token.

    ``get`` refreshes ahead of expiry; ``refresh`` forces a refresh and is called
    once after a 401 (HubSpot: a 401 alone is not proof of expiry).
    """

    def get(self) -> str: ...

    def refresh(self) -> str: ...

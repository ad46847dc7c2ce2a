"""Runtime settings, read once from the environment.

Well-known names (``MONGODB_URI``, ``REDIS_URL``) keep their usual spelling so that
hosting platforms can inject them; everything of ours carries the ``PC_`` prefix.

The package also holds what is derived from settings alone and needed before any
feature: ``form_fields`` (the ChiliPiper form-field defaults a deployment overrides)
and ``client_config`` (the public values the web client reads before sign-in). It
sits on the ground floor: it imports no feature.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pc_core.settings.form_fields import merged_form_fields

# Development defaults. They make a fresh clone run; production refuses them.
DEV_SECRET_KEY = "dev-insecure-secret-key-change-me-0123456789"
DEV_TOKEN_ENCRYPTION_KEY = "ZGV2LWluc2VjdXJlLWVuY3J5cHRpb24ta2V5LTAxMjM="  # Fernet-shaped
DEV_HUBSPOT_CLIENT_SECRET = "pc-sandbox-secret"
DEV_STRIPE_SECRET_KEY = "sk_test_pc_sandbox"
DEV_STRIPE_WEBHOOK_SECRET = "whsec_pc_sandbox"
DEV_STRIPE_PUBLISHABLE_KEY = "pk_test_pc_sandbox"
DEV_MAILGUN_API_KEY = "key-pc-sandbox"
DEV_CHILIPIPER_SECRET = "chilipiper-dev-secret"

Environment = Literal["development", "test", "production"]


class Settings(BaseSettings):
    """Every knob of the platform. Ports, URLs and secrets all come from here."""

    model_config = SettingsConfigDict(env_prefix="PC_", extra="ignore", env_file=None)

    env: Environment = "development"

    mongodb_uri: str = Field(
        default="mongodb://127.0.0.1:27017",
        validation_alias=AliasChoices("MONGODB_URI", "PC_MONGODB_URI"),
    )
    mongodb_db: str = Field(
        default="partner_connector",
        validation_alias=AliasChoices("MONGODB_DB", "PC_MONGODB_DB"),
    )
    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        validation_alias=AliasChoices("REDIS_URL", "PC_REDIS_URL"),
    )

    secret_key: str = DEV_SECRET_KEY
    token_encryption_key: str = DEV_TOKEN_ENCRYPTION_KEY

    # Where `pc run` keeps the embedded store, Redis dump, Dagster home and logs.
    data_dir: Path = Path(".pc")
    host: str = "127.0.0.1"
    api_port: int = 8000
    dagster_port: int = 3000
    sandbox_port: int = 8090
    mongo_port: int = 27017
    redis_port: int = 6380
    public_url: str = "http://127.0.0.1:8000"

    access_token_minutes: int = 30
    refresh_token_days: int = 30
    cookie_secure: bool | None = None  # None: Secure everywhere but development
    # X-Forwarded-For/-Proto are believed only from these peers (comma-separated IPs
    # or CIDRs: the ingress / load balancer); empty: from nobody.
    trusted_proxies: str = ""
    # Further browser origins (comma-separated, e.g. https://app.example.com) allowed
    # to send cookie-authenticated writes (CSRF check) and to open Socket.IO.
    allowed_origins: str = ""
    # Browser origins (comma-separated, exact ``scheme://host[:port]``) whose pages may
    # call the API from script (CORS, credentials included): a web client hosted
    # apart from the API. Empty: same origin only. They count as ours for the CSRF
    # and Socket.IO checks too; the cookies stay SameSite=Lax (pc_api/browser_headers.py).
    cors_origins: str = ""

    # Sign-in throttle (pc_core/identity/login_throttle.py), all per window: failures per
    # (email, client address) and per client address → 429; failures per email from
    # anywhere → the email is locked for everyone and its owner emailed.
    login_max_failures: int = 5
    login_window_seconds: int = 15 * 60
    login_ip_max_failures: int = 50
    login_account_lock_failures: int = 50

    import_max_bytes: int = 10 * 1024 * 1024
    # Request bodies, counted while they stream in (pc_api/body_limits.py): everything
    # but the CSV import (import_max_bytes) and the webhooks (/v1/webhooks/*,
    # /v1/meetings/webhooks/*) gets max_json_bytes.
    max_json_bytes: int = 1024 * 1024
    max_webhook_bytes: int = 1024 * 1024
    import_max_rows: int = 50_000
    default_lead_price_cents: int = 50_000

    # Marketplace: active reservations one buyer partner may hold at once, and how
    # long before expiry the reservation-expiring email goes out.
    max_active_reservations: int = 10
    reservation_reminder_hours: int = 24
    # An unpaid pending purchase holds its reservation past expiry for this long.
    purchase_pending_grace_minutes: int = 60
    # Bad-lead returns (pc_core/returns/flow.py): the buyer's window after the
    # sale, the seller's window to answer (silence accepts), and the abuse guard: a
    # buyer whose returns exceed this share of its purchases (once it has made at
    # least return_guard_min_purchases) needs the owner's approval.
    return_window_days: int = Field(default=7, ge=1, le=90)
    return_answer_days: int = Field(default=3, ge=1, le=30)
    return_guard_rate: float = Field(default=0.3, ge=0, le=1)
    return_guard_min_purchases: int = Field(default=5, ge=1)
    mail_from: str = "Partner Connector <no-reply@partner-connector.local>"

    hubspot_base_url: str = "http://127.0.0.1:8090/hubspot"
    # The consent page; real HubSpot: https://app.hubspot.com/oauth/authorize
    hubspot_authorize_url: str = "http://127.0.0.1:8090/hubspot/oauth/authorize"
    hubspot_scopes: str = (
        "oauth crm.objects.contacts.read crm.objects.contacts.write "
        "crm.objects.deals.read crm.objects.deals.write "
        "crm.schemas.deals.read crm.schemas.deals.write"
    )
    # How old a partner's stored HubSpot option labels (industry...) may be before a
    # sync reads the property definitions again (pc_core/hubspot/connection/value_labels.py).
    hubspot_labels_max_age_hours: float = Field(default=24, ge=0)
    # Where the web client lives; OAuth callbacks redirect there.
    app_url: str = "http://127.0.0.1:8000"
    # The built web client the API serves at ``/`` (``npm run build`` writes it);
    # unset: ``web/dist`` in the repository.
    web_dist: Path | None = None
    hubspot_client_id: str = "pc-sandbox-client"
    hubspot_client_secret: str = DEV_HUBSPOT_CLIENT_SECRET
    # Webhooks: v1 signatures carry no timestamp (replayable), so refused unless allowed.
    hubspot_accept_v1_signatures: bool = False
    hubspot_webhook_max_bytes: int = 1024 * 1024
    # The hot path (`pc worker`, docs/architecture.md "Hot path"): how long a worker's
    # claim on a partner lasts unless renewed (a killed worker's partners are retaken
    # after it), how often it looks for work without a Redis wake-up, and how long a
    # webhook event or a sale due may wait unapplied before a Dagster sensor launches a
    # backstop run for it.
    worker_lease_seconds: float = 30.0
    worker_poll_seconds: float = 1.0
    backstop_after_seconds: float = 30.0
    # Retention (pc_pipelines/maintenance): processed webhook events and finished sync
    # tasks older than these are deleted by the daily retention asset. Days, fractions
    # allowed (the fault soak's --long mode keeps a minute to stand for weeks).
    webhook_event_retention_days: float = Field(default=7, ge=0)
    sync_task_retention_days: float = Field(default=90, ge=0)
    # HubSpot's daily request budget is shared by every app in the portal: stop our
    # calls with this share of it left for the others, and slow down (this pause per
    # call) once twice that is all that is left (pc_core/hubspot/connection/quota.py).
    hubspot_daily_reserve_fraction: float = Field(0.2, ge=0.0, lt=1.0)
    hubspot_daily_slowdown_pause_s: float = Field(0.5, ge=0.0)
    hubspot_daily_recheck_s: float = Field(900.0, ge=0.0)

    stripe_api_base: str = "http://127.0.0.1:8090/stripe"
    stripe_secret_key: str = DEV_STRIPE_SECRET_KEY
    stripe_webhook_secret: str = DEV_STRIPE_WEBHOOK_SECRET
    # The Connect webhook endpoint's own signing secret (account.updated comes through
    # an endpoint created with connect=true); unset: one endpoint, one secret.
    stripe_connect_webhook_secret: str = ""
    # Given to the browser (GET /v1/client-config): not a secret. Against the sandbox
    # the client confirms PaymentIntents the way Stripe.js does, with this key.
    stripe_publishable_key: str = DEV_STRIPE_PUBLISHABLE_KEY

    mailgun_base_url: str = "http://127.0.0.1:8090/mailgun"
    mailgun_domain: str = "sandbox.partner-connector.local"
    mailgun_api_key: str = DEV_MAILGUN_API_KEY

    chilipiper_secret: str = DEV_CHILIPIPER_SECRET
    # Rotation: the secret being replaced, accepted beside ``chilipiper_secret`` (as
    # the ``?token=`` of the webhook URL, the header, or the HMAC key) until ChiliPiper
    # has the new URL; then cleared.
    chilipiper_secret_previous: str = ""
    # Form field names of the operator's ChiliPiper router → routing criteria; JSON,
    # merged over the defaults in pc_core/settings/form_fields.py (README "Meetings").
    chilipiper_form_fields: dict[str, list[str]] = Field(default_factory=dict,
                                                         validate_default=True)
    # Key of the optional ``X-PC-Signature`` (HMAC-SHA256 of the raw body); empty:
    # signatures are checked with ``chilipiper_secret``.
    chilipiper_signing_secret: str = ""

    # Public API (``X-API-Key``): requests per token per window, unless the token
    # carries its own limit.
    api_token_rate_limit: int = 60
    api_token_rate_window_seconds: int = 60

    # Operations (pc_core/observability, README "Metrics and logs"): JSON lines or
    # text; /metrics on a port of its own (0: off) and/or on the API port behind a
    # bearer token (empty: /metrics answers 404); how often the database figures are
    # re-read; who gets the Dagster run-failure emails (comma-separated; empty: every
    # active owner) and the Dagster UI address the email links to.
    log_format: Literal["json", "text"] = "json"
    log_level: str = "INFO"
    metrics_port: int = 0
    metrics_host: str = "0.0.0.0"  # noqa: S104 - a pod's metrics port, kept off the ingress
    metrics_token: str = ""
    metrics_db_interval_seconds: float = 15.0
    alert_emails: str = ""
    # The Dagster UI (alert emails and the web client's run links; GET
    # /v1/client-config). Unset: http://{host}:{dagster_port} outside production
    # (what `pc run` starts), empty in production (no links).
    dagster_url: str = ""

    @field_validator("chilipiper_form_fields")
    @classmethod
    def _merge_form_fields(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        return merged_form_fields(value)

    @field_validator("trusted_proxies")
    @classmethod
    def _check_trusted_proxies(cls, value: str) -> str:
        """Only IPs and CIDRs: a typo (or ``*``) must not silently trust everyone."""
        for item in _comma_list(value):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"PC_TRUSTED_PROXIES: {item!r} is not an IP address or CIDR range"
                ) from None
        return value

    @field_validator("cors_origins")
    @classmethod
    def _check_cors_origins(cls, value: str) -> str:
        """Exact origins only: ``*`` with credentials would hand every site the
        session; a path or a typo would silently never match."""
        for item in _comma_list(value):
            parts = urlsplit(item.strip().rstrip("/"))
            if (parts.scheme.lower() not in ("http", "https") or not parts.hostname
                    or parts.path or parts.query or parts.fragment or "@" in parts.netloc):
                raise ValueError(
                    f"PC_CORS_ORIGINS: {item!r} is not an origin such as "
                    "https://app.example.com (scheme and host, optional port, no path)"
                )
        return value

    @property
    def cors_origin_list(self) -> list[str]:
        """As configured; pc_core/security/origins.origin_of normalises them for the
        comparisons."""
        return _comma_list(self.cors_origins)

    @property
    def trusted_proxy_list(self) -> list[str]:
        return _comma_list(self.trusted_proxies)

    @property
    def allowed_origin_list(self) -> list[str]:
        return _comma_list(self.allowed_origins)

    @model_validator(mode="after")
    def _derive_local_urls(self) -> Settings:
        """URLs left at their defaults follow the configured ports, so moving the
        sandbox or the API to another port moves every URL that points at it."""
        sandbox = f"http://{self.host}:{self.sandbox_port}"
        api = f"http://{self.host}:{self.api_port}"
        derived = {
            "hubspot_base_url": f"{sandbox}/hubspot",
            "hubspot_authorize_url": f"{sandbox}/hubspot/oauth/authorize",
            "stripe_api_base": f"{sandbox}/stripe",
            "mailgun_base_url": f"{sandbox}/mailgun",
            "public_url": api,
            "app_url": api,
        }
        if not self.is_production:
            derived["dagster_url"] = f"http://{self.host}:{self.dagster_port}"
        for name, value in derived.items():
            if name not in self.model_fields_set:
                object.__setattr__(self, name, value)
        return self

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.env != "development"

    @property
    def web_dist_dir(self) -> Path:
        """The built web client served at ``/`` (``PC_WEB_DIST``, else the repo's
        ``web/dist``)."""
        return self.web_dist or Path(__file__).resolve().parents[2] / "web" / "dist"

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    def insecure_secrets(self) -> list[str]:
        """Names of secrets still at a development default or empty.

        Production must not start with any of them: a default secret key lets anyone
        mint tokens, a default encryption key exposes every stored HubSpot token.
        """
        checks = {
            "PC_SECRET_KEY": (self.secret_key, DEV_SECRET_KEY),
            "PC_TOKEN_ENCRYPTION_KEY": (self.token_encryption_key, DEV_TOKEN_ENCRYPTION_KEY),
            "PC_HUBSPOT_CLIENT_SECRET": (self.hubspot_client_secret, DEV_HUBSPOT_CLIENT_SECRET),
            "PC_STRIPE_SECRET_KEY": (self.stripe_secret_key, DEV_STRIPE_SECRET_KEY),
            "PC_STRIPE_WEBHOOK_SECRET": (self.stripe_webhook_secret, DEV_STRIPE_WEBHOOK_SECRET),
            "PC_MAILGUN_API_KEY": (self.mailgun_api_key, DEV_MAILGUN_API_KEY),
            "PC_CHILIPIPER_SECRET": (self.chilipiper_secret, DEV_CHILIPIPER_SECRET),
        }
        bad = [name for name, (value, default) in checks.items() if not value or value == default]
        if len(self.secret_key) < 32 and "PC_SECRET_KEY" not in bad:
            bad.append("PC_SECRET_KEY")
        return bad

    def check_production_ready(self) -> None:
        """Refuse to run production on default or missing secrets, naming them."""
        if not self.is_production:
            return
        bad = self.insecure_secrets()
        if bad:
            raise InsecureSettingsError(
                "refusing to start with PC_ENV=production: these secrets are missing or "
                "still at their development default: " + ", ".join(bad)
            )


def _comma_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


class InsecureSettingsError(RuntimeError):
    """Raised at start-up when production is configured with development secrets."""


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests build their own ``Settings`` instead."""
    return Settings()

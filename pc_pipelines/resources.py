"""The one Dagster resource: the platform (``platform``), as dagster-open-platform
keeps one resource per system rather than a bag of settings per caller.

It hands out what every asset, op and sensor needs from the platform:
- ``settings()``: the one platform ``Settings`` (everything the API reads from the
  environment: Stripe, Mailgun, alert recipients), with where MongoDB, Redis and
  HubSpot are and the app's credentials as configured here; every pc_core service
  takes it, and publishes real-time events through its Redis;
- ``db()``: the database;
- the event publisher: ``pc_core.events`` publishes through those settings' Redis
  (``redis_url``), so the services that announce changes need nothing more.
Nothing else in ``pc_pipelines`` builds a ``Settings``.

Secrets arrive through ``EnvVar`` so the Dagster UI shows the variable's name,
never its value; hosts come from the same settings as the API, so one switch points
both at the sandbox or at the real services.
"""

from __future__ import annotations

from typing import Any

from dagster import ConfigurableResource, EnvVar, InitResourceContext
from pydantic import PrivateAttr
from pymongo.database import Database

from pc_core.db import get_db
from pc_core.observability import vendor_calls
from pc_core.settings import Settings

#: What this resource configures; the rest of ``Settings`` comes from the environment.
FIELDS = ("mongodb_uri", "mongodb_db", "redis_url", "hubspot_base_url", "hubspot_client_id",
          "hubspot_client_secret", "token_encryption_key", "public_url")


class PlatformResource(ConfigurableResource):
    """The platform's database and settings (and so its event publisher)."""

    mongodb_uri: str
    mongodb_db: str = "partner_connector"
    redis_url: str
    hubspot_base_url: str
    hubspot_client_id: str
    hubspot_client_secret: str
    token_encryption_key: str
    public_url: str
    _settings: Settings | None = PrivateAttr(default=None)

    @classmethod
    def of(cls, settings: Settings, **changes: Any) -> PlatformResource:
        """The resource over ``settings`` (tests, benchmarks), with ``changes``."""
        return cls(**{**{name: getattr(settings, name) for name in FIELDS}, **changes})

    def settings(self) -> Settings:
        """The platform settings (built on first use): the environment's, with this
        resource's database, Redis and HubSpot."""
        if self._settings is None:
            self._settings = Settings(mongodb_uri=self.mongodb_uri,
                                      mongodb_db=self.mongodb_db).model_copy(
                update={name: getattr(self, name) for name in FIELDS})
        return self._settings

    def db(self) -> Database:
        return get_db(self.settings())

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """Runs add the HubSpot/Stripe calls they make to the
        cluster-wide figures the API exports, every half minute and when the process
        ends: run pods are never scraped by Prometheus."""
        if context.dagster_run is not None:  # a run, not a sensor tick
            vendor_calls.flush_into(self.db())


def default_resources() -> dict[str, ConfigurableResource]:
    defaults = Settings()
    return {
        "platform": PlatformResource(
            mongodb_uri=EnvVar("MONGODB_URI"),
            mongodb_db=defaults.mongodb_db,
            redis_url=EnvVar("REDIS_URL"),
            hubspot_base_url=defaults.hubspot_base_url,
            hubspot_client_id=defaults.hubspot_client_id,
            hubspot_client_secret=EnvVar("PC_HUBSPOT_CLIENT_SECRET"),
            token_encryption_key=EnvVar("PC_TOKEN_ENCRYPTION_KEY"),
            public_url=defaults.public_url,
        ),
    }

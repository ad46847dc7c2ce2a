"""Dagster resources: the platform's clients, each built once per resource.

``mongo`` is the platform resource: it hands out the database and the platform
``Settings`` (everything the API reads from the environment: Stripe, Mailgun, alert
recipients), built once and reused by every asset, op and sensor that asks;
``hubspot`` adds where HubSpot is and the app's credentials to those settings;
``events`` hands out the settings whose Redis carries the real-time events. Nothing
else in ``pc_pipelines`` builds a ``Settings``.

Secrets arrive through ``EnvVar`` so the Dagster UI shows the variable's name,
never its value; hosts come from the same settings as the API, so one switch points
both at the sandbox or at the real services.
"""

from __future__ import annotations

from dagster import ConfigurableResource, EnvVar, InitResourceContext
from pydantic import PrivateAttr
from pymongo.database import Database

from pc_core.db import get_db
from pc_core.observability import vendor_calls
from pc_core.settings import Settings


class MongoResource(ConfigurableResource):
    """The platform database and settings, built by pc_core from the same
    environment as the API."""

    uri: str
    database: str = "partner_connector"
    _settings: Settings | None = PrivateAttr(default=None)

    def settings(self) -> Settings:
        """The platform settings on this resource's database (built on first use)."""
        if self._settings is None:
            self._settings = Settings(mongodb_uri=self.uri, mongodb_db=self.database)
        return self._settings

    def db(self) -> Database:
        return get_db(self.settings())

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """Runs add the HubSpot/Stripe calls they make to the
        cluster-wide figures the API exports, every half minute and when the process
        ends: run pods are never scraped by Prometheus."""
        if context.dagster_run is not None:  # a run, not a sensor tick
            vendor_calls.flush_into(self.db())


class HubSpotResource(ConfigurableResource):
    """Where HubSpot is (real or sandbox) and the app's credentials."""

    base_url: str
    client_id: str
    client_secret: str
    token_encryption_key: str
    public_url: str
    _settings: Settings | None = PrivateAttr(default=None)

    def settings(self, mongo: MongoResource) -> Settings:
        """The platform settings with HubSpot's: the services take a ``Settings``."""
        if self._settings is None:
            self._settings = mongo.settings().model_copy(update={
                "hubspot_base_url": self.base_url,
                "hubspot_client_id": self.client_id,
                "hubspot_client_secret": self.client_secret,
                "token_encryption_key": self.token_encryption_key,
                "public_url": self.public_url,
            })
        return self._settings


class EventsResource(ConfigurableResource):
    """Publishes real-time events (pc_core.events) through Redis."""

    redis_url: str
    _settings: Settings | None = PrivateAttr(default=None)

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings(redis_url=self.redis_url)
        return self._settings


def default_resources() -> dict[str, ConfigurableResource]:
    defaults = Settings()
    return {
        "mongo": MongoResource(uri=EnvVar("MONGODB_URI"), database=defaults.mongodb_db),
        "hubspot": HubSpotResource(
            base_url=defaults.hubspot_base_url,
            client_id=defaults.hubspot_client_id,
            client_secret=EnvVar("PC_HUBSPOT_CLIENT_SECRET"),
            token_encryption_key=EnvVar("PC_TOKEN_ENCRYPTION_KEY"),
            public_url=defaults.public_url,
        ),
        "events": EventsResource(redis_url=EnvVar("REDIS_URL")),
    }

"""Dagster resources over pc_core's clients.

Secrets arrive through ``EnvVar`` so the Dagster UI shows the variable's name,
never its value; hosts come from the same settings as the API, so one switch points
both at the sandbox or at the real services.
"""

from dagster import ConfigurableResource, EnvVar, InitResourceContext
from pymongo.database import Database

from pc_core.db import get_db
from pc_core.observability import vendor_calls
from pc_core.settings import Settings


class MongoResource(ConfigurableResource):
    """The platform database, built by pc_core from the same settings as the API."""

    uri: str
    database: str = "partner_connector"

    def db(self) -> Database:
        return get_db(Settings(mongodb_uri=self.uri, mongodb_db=self.database))

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

    def settings(self, mongo: MongoResource) -> Settings:
        """pc_core settings for HubSpot work: the services take a ``Settings``."""
        return Settings(
            mongodb_uri=mongo.uri,
            mongodb_db=mongo.database,
            hubspot_base_url=self.base_url,
            hubspot_client_id=self.client_id,
            hubspot_client_secret=self.client_secret,
            token_encryption_key=self.token_encryption_key,
            public_url=self.public_url,
        )


class EventsResource(ConfigurableResource):
    """Publishes real-time events (pc_core.events) through Redis."""

    redis_url: str

    def settings(self) -> Settings:
        return Settings(redis_url=self.redis_url)


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

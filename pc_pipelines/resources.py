"""Dagster resources over pc_core's clients, configured from the environment."""


from dagster import ConfigurableResource, EnvVar
from pymongo.database import Database

from pc_core.db import get_db
from pc_core.settings import Settings


class MongoResource(ConfigurableResource):
    """The platform database, built by pc_core from the same settings as the API."""

    uri: str
    database: str = "partner_connector"

    def db(self) -> Database:
        settings = Settings(mongodb_uri=self.uri, mongodb_db=self.database)
        return get_db(settings)


def mongo_resource() -> MongoResource:
    return MongoResource(
        uri=EnvVar("MONGODB_URI"),
        database=Settings().mongodb_db,
    )

"""The Partner Connector domain: settings, storage, and the services that the API and
the Dagster pipelines share. Business rules live here once."""

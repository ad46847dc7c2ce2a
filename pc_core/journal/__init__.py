"""Append-only records written by the features and read by the layers above them.

Kept below the features so that whoever writes a record does not import whoever
reads it (the cycles analytics ⇄ marketplace ⇄ hubspot came from these living in
``analytics``):

- ``stage_events``: one document per stage or marketplace-status transition of a lead,
  written wherever a lead changes (platform edit, marketplace, HubSpot pull or webhook);
- ``outbox``: purchase events the API records for Dagster to report.
"""

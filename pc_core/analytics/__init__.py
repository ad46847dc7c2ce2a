"""Lead analytics: what happened to each lead, and what it adds up to per partner.

Pure functions over documents and polars DataFrames, so they are unit-testable and
shared by the Dagster assets (pc_pipelines/analytics) and the API's funnel route:

- the records it reads are written below the features, in ``pc_core.journal``
  (``stage_events``: one document per stage or marketplace-status transition;
  ``outbox``: purchase events for Dagster to report), so no feature imports analytics;
- ``hubspot_history``: the exact transitions from HubSpot's property history
  (batch reads with ``propertiesWithHistory``, ≤ 50 deals per request);
- ``history``: events + leads + stage mapping → the ``lead_stage_history`` table;
- ``funnel``: history + purchases → the funnel of a period (per day for the asset);
- ``sources``: the documents those read, as DataFrames;
- ``listings``: the marketplace listings table (the listing rule lives in
  ``pc_core.marketplace``);
- ``checks``: the data-quality rules behind the Dagster asset checks;
- ``check_emails``: a failing check emails the operator;
- ``queries``: the partner-scoped funnel the API serves.
"""

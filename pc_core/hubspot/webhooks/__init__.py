"""HubSpot webhooks (the ``hubspot_webhooks`` pipelines): ``ingest`` (check the
signature, store the batch, answer) and ``apply`` (HubSpot's current state → raw
documents → leads)."""

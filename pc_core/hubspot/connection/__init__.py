"""Talking to a partner's HubSpot portal: ``oauth`` (consent, token storage and
refresh), ``client`` (the SDK client on the configured host), ``transport`` (the CRM
calls with retries), ``objects`` (what is read per object type), ``pages`` (HubSpot
pages → record batches) and ``sync_health`` (the status the API shows)."""

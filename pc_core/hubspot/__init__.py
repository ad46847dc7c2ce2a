"""HubSpot, one subpackage per pipeline folder of ``pc_pipelines``:

- ``connection``: the OAuth connection, the SDK client, the CRM transport, pages;
- ``pull``: HubSpot → raw collections (``hubspot_sync``);
- ``lead_build``: raw records + stage mapping → leads (``lead_rebuild``);
- ``webhooks``: webhook ingest and apply (``hubspot_webhooks``);
- ``sync_back``: platform → HubSpot, the sale delivery included (``sync_back``,
  ``crm_delivery``).

Each imports only the ones before it in this list; no two import each other
(tests/test_architecture.py checks the rings).
"""

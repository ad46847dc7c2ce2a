"""HubSpot → raw collections (the ``hubspot_sync`` pipelines): ``engine`` (``pull_objects``: a
partner's contacts or deals), ``cursors`` (where each pull stands), ``prefetch`` (read
ahead in a thread) and ``raw_store`` (raw records → ``hubspot_contacts``/``hubspot_deals``)."""

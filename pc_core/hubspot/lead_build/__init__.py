"""Raw HubSpot records → the lead table (the ``lead_rebuild`` pipelines):
``lead_builder``, ``lead_rebuild`` and ``rebuild_requests`` (rebuilds from stored raw
deals), ``stage_mapping`` (HubSpot stages → canonical stages), ``conflicts`` (most
recent change wins per field) and ``deal_links`` (a sold lead ↔ its buyer's deal)."""

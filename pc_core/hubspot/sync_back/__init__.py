"""Platform → HubSpot (the ``sync_back`` and ``crm_delivery`` pipelines):
``pushback`` (lead edits reach the partner's deal), ``reverse_mapping`` (canonical
stage → the partner's stage), ``sale_delivery`` (a sold lead → its buyer's portal),
``cross_partner`` (the buyer's progress shown to the seller) and ``partner_runs``
(multi-partner runs)."""

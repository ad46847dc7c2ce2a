"""Reconciliation: what HubSpot has against what we have, and the healing of drift
(missed webhooks and search results, deletions past the incremental pull's 200,
deleted stages). Stands above ``pull`` and ``lead_build``; nothing imports it back."""

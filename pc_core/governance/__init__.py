"""Governance: what the owner does to a whole partner or a person's data, across every
feature (a partner's deactivation, reactivation and deletion; a contact's erasure).
It stands above the features it reaches into (docs/lifecycle.md)."""

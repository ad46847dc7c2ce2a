"""Dagster definitions: everything that runs on a schedule or in reaction to an event.
Thin over pc_core: assets and ops call domain services, never reimplement them."""

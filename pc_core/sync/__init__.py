"""Sync bookkeeping shared by every vendor sync: ``tasks`` (the per-partner sync tasks
the API lists and retries) and ``runs`` (which Dagster run serves which task)."""

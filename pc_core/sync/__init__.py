"""Sync bookkeeping shared by every vendor sync: ``tasks`` (the per-partner sync tasks
the API lists and retries), ``runs`` (which Dagster run serves which task) and
``value_labels`` (the labels a partner's CRM gives its enumeration values, stored by
the HubSpot sync and read by the lead and listing answers)."""

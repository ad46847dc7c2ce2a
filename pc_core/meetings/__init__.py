"""Meetings booked through ChiliPiper on the operator's website, and how each one
becomes a lead routed to a partner (seed: "Integration 1").

Modules, one job each: ``payload`` (what ChiliPiper sends), ``auth`` (the shared
secret / HMAC), ``criteria`` (a partner's routing rules), ``round_robin`` (the
weighted, restart-proof pick), ``routing`` (candidates + pick + preview),
``webhook`` (store the meeting, create and assign the lead, notify),
``custom_webhook`` and ``unassigned``. The ChiliPiper form-field defaults are
configuration, so they live with the settings (``pc_core.settings.form_fields``).
"""

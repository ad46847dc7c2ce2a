"""The daily reminders (09:00 UTC, Dagster ``daily_reminders`` schedule).

Each reminder is an email with a dedupe key (``pc_core.mail.mailer``), so it is sent
once however often the job runs: ``unmapped-stages:{partner}:{date}``,
``meeting-tomorrow:{meeting}:{meeting date}``, and for reservations the
marketplace's own ``reservation-expiring:{reservation}`` (the every-minute expiry
job sends the same email; sharing its key means the buyer never gets it twice).
"""

"""Buyer alerts: the daily digest of saved-search matches, and the backstop of their
immediate e-mails (``pc_core.buyer_alerts``).

Importing it also registers the listing hook (``pc_core.buyer_alerts.dispatch``) in
Dagster's processes, so leads the HubSpot runs and the expiry job list reach saved
searches and standing orders as the API's do.
"""

from dagster import Definitions

from pc_pipelines.buyer_alerts.jobs import buyer_alert_digest_job, buyer_alert_digest_schedule
from pc_pipelines.buyer_alerts.mail import buyer_alert_mail_job, buyer_alert_mail_sensor

defs = Definitions(jobs=[buyer_alert_digest_job, buyer_alert_mail_job],
                   schedules=[buyer_alert_digest_schedule],
                   sensors=[buyer_alert_mail_sensor])

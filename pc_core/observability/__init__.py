"""Operating the platform: structured logs (``logs``), the request/run context they
carry (``context``), Prometheus metrics (``metrics``, ``vendor_calls``,
``platform_collector``) and the Dagster run outcomes behind the alerts
(``job_outcomes``), secret redaction for logs and e-mails (``log_redaction``) and
the operator's alert e-mails (``operator_alerts``: who gets them and how a failure is
told; not the buyers' alerts).

Nothing here imports the API or Dagster: both use these modules.
"""

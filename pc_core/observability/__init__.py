"""Operating the platform: structured logs (``logs``), the request/run context they
carry (``context``), Prometheus metrics (``metrics``, ``vendor_calls``,
``platform_collector``) and the Dagster run outcomes behind the alerts
(``job_outcomes``).

Nothing here imports the API or Dagster: both use these modules.
"""

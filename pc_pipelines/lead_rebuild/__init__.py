"""Lead rebuild: a stage-mapping change reaches the partner's leads within seconds
(``pc_core.hubspot.lead_build.lead_rebuild``), one run per partner with a pending request."""

from dagster import Definitions

from pc_pipelines.lead_rebuild.jobs import lead_rebuild_job
from pc_pipelines.lead_rebuild.sensors import lead_rebuild_sensor

defs = Definitions(jobs=[lead_rebuild_job], sensors=[lead_rebuild_sensor])

"""The hot path: a standing worker that applies event-driven work as it arrives
(docs/architecture.md "Hot path"), with the same pc_core code the Dagster runs use."""

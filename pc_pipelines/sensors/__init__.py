"""Sensors: partition upkeep and event-triggered runs."""

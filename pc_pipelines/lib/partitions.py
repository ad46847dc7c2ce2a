"""Partition sets: one partition per connected partner (kept in step by a sensor)."""

from dagster import DynamicPartitionsDefinition

partners_partitions = DynamicPartitionsDefinition(name="partners")

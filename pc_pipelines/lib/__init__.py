"""Plumbing shared by the features: the partner partitions, run tags, run keys."""

"""Passwords, tokens and encryption at rest."""

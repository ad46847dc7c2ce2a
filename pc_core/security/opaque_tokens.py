"""Random bearer secrets stored only as hashes (refresh tokens, API tokens).

A token is ``<id>.<secret>``: the id addresses the stored document by ``_id`` (one
fast lookup), and the secret is compared by its SHA-256 in constant time. SHA-256
rather than argon2 is right here: the secrets have 256 bits of entropy, so there is
nothing to brute-force, and the check sits on hot paths.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_token(token: str) -> tuple[str, str] | None:
    token_id, sep, secret = token.partition(".")
    if not sep or not token_id or not secret:
        return None
    return token_id, secret


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)

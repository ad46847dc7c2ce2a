"""Password hashing with argon2id.

Parameters are OWASP's recommended argon2id minimum (19 MiB, 2 passes, 1 lane):
each login costs one verification, and with argon2-cffi's heavier defaults (64 MiB,
3 passes, 4 lanes) a single API worker managed about 5 logins/s. Hashes made with
other parameters are upgraded at the next successful login (``needs_rehash``).
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

# Verified against when the email is unknown, so that a wrong email and a wrong
# password take the same time and cannot be told apart.
_DUMMY_HASH = _hasher.hash("not-a-real-password-only-for-timing")

MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)

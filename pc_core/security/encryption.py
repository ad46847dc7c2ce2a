"""Encryption at rest for third-party secrets (HubSpot OAuth tokens, Stripe ids...).

Fernet gives authenticated encryption with a key from settings; the stored value is
useless without ``PC_TOKEN_ENCRYPTION_KEY``. Several comma-separated keys allow key
rotation: the first encrypts, all decrypt.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


@lru_cache(maxsize=8)
def _fernet(keys: str) -> MultiFernet:
    return MultiFernet([Fernet(k.strip().encode()) for k in keys.split(",") if k.strip()])


def encrypt_secret(keys: str, plaintext: str) -> str:
    return _fernet(keys).encrypt(plaintext.encode()).decode()


def decrypt_secret(keys: str, ciphertext: str) -> str:
    try:
        return _fernet(keys).decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("secret cannot be decrypted with the configured key") from exc

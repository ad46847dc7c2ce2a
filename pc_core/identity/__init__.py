"""Who is calling and what they may do: ``users`` and ``partners`` (the accounts),
``auth`` (sign-in, access tokens), ``sessions``, ``session_state`` and ``session_cache``
(the server-side session record, its version and the per-process cache),
``api_tokens`` (long-lived partner tokens with per-token rate limits) and
``login_throttle`` (failed sign-ins per account and address)."""

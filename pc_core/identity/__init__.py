"""Who is calling and what they may do: ``users`` and ``partners`` (the accounts),
``auth`` (sign-in, access tokens), ``sessions``, ``session_state`` and ``session_cache``
(the server-side session record, its version, the per-process cache and
``session_cache.caller``, the one rule for who is calling that HTTP and Socket.IO
both apply),
``api_tokens`` (long-lived partner tokens with per-token rate limits) and
``login_throttle`` (failed sign-ins per account and address)."""

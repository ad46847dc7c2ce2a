"""Passwords, tokens and encryption at rest (``passwords``, ``jwt_tokens``,
``opaque_tokens``, ``oauth_state``, ``encryption``); which browser origins count as
ours (``origins``: CSRF and Socket.IO); fixed-window counters in Redis for throttles
and rate limits (``throttle``)."""

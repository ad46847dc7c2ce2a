"""Local stand-ins for HubSpot, Stripe and Mailgun that follow their public HTTP APIs.

They exist so the offline demo and the test-suite exercise the real SDKs
(`hubspot-api-client`, `stripe`) and the real Mailgun HTTP contract end to end,
without reaching the internet.
"""

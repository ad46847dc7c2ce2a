"""The payments layer: Stripe, below the marketplace and billing.

- ``stripe_client``: the SDK client (pointed at the sandbox or Stripe), the
  PaymentIntent of a purchase and refunds, each with an idempotency key;
- ``events``: what a Stripe event must look like, and the registry of handlers:
  the marketplace and billing register the events they act on (in their
  ``payment_events`` modules), so this layer imports neither;
- ``webhooks``: the one ``POST /v1/webhooks/stripe`` dispatcher: verify the
  signature, check the event, record it once, hand it to its handler.
"""

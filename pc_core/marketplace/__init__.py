"""The marketplace: listings, reservations with expiry, purchases through Stripe.

One module per job: ``pricing`` (price, commission), ``listings`` (what buyers
browse), ``slots`` (the per-buyer cap on active reservations), ``reservations``,
``expiry`` (what the Dagster schedule runs), ``purchases``, ``fulfilment`` (what a
successful payment does), ``payment_events`` (the Stripe events it handles, registered
with ``pc_core.payments``), ``leadstate`` (the lead's marketplace status),
``deliveries`` (the sale's outbox: sold leads waiting to reach their buyer's CRM,
filled by ``fulfilment`` and drained by ``pc_core.hubspot.sync_back.sale_delivery``),
``notifications`` (the sale e-mails).
"""

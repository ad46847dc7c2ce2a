"""Monthly invoices (design.md "Dagster graph": ``monthly_invoices``).

One invoice per partner per month, ``_id`` = ``"{partner_id}:{YYYY-MM}"``:

- a **purchase** line per purchase the partner *bought* that completed in the month
  (price, commission, total = what the buyer paid);
- a **refund** credit line per refund recorded in the month on a purchase that had
  completed (any month);
- **adjustment** lines: corrections to an earlier month whose invoice is already
  finalised or paid (``adjustments``), carried here instead of rewriting it.

Sellers' earnings are not billed: a seller is paid by the purchase's destination
charge at the time of sale. The invoice carries them as an informational
``seller_statement`` (sales count, prices earned, refunds), outside every total.

Purchases were already charged one by one by their PaymentIntents (and refunds
paid back by Stripe refunds), so the Stripe invoice is the month's statement of
account: finalised, then paid out of band (``stripe_invoices``); ``invoice.paid``
marks ours paid (``payment_events``).

Modules: ``months`` (month keys), ``lines`` (line shapes, order, totals),
``sources`` (the month's purchases, read the way the embedded store serves fast),
``adjustments`` (corrections to locked months), ``build`` (materialise a month),
``checks`` (the asset check), ``stripe_invoices``, ``stripe_refunds``,
``payment_events`` (the Stripe events billing handles), ``queries`` (API).
"""

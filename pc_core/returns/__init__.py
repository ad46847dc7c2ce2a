"""Bad-lead returns (docs/payments.md "Returns"): the buyer asks for its money back
within a window, the seller answers, the owner arbitrates; an accepted return is
refunded through Stripe (reversing the seller's transfer and the commission), credited
on the buyer's invoice, and the lead goes back to its seller.

On the features floor above ``marketplace`` (the purchase, the lead's status, the
listing rule, the seller's rating) and ``billing`` (the invoice credit), which it
both uses: ``flow`` is the whole of it (ask, answer, decide, accept, the deadline
the Dagster schedule ``return_deadlines`` enforces).
"""

"""Buyers hear of matching leads: saved searches, their live notices and e-mails.

One module per job (what a search asks for and its match keys are
``pc_core.marketplace.criteria``, shared with standing orders): ``matching`` (the
saved searches one listing matches), ``searches`` (saving, listing, deleting a user's searches),
``notices`` (a match recorded once, told live and by e-mail), ``digests`` (the daily
e-mail), ``unsubscribe`` (the signed one-click link) and ``dispatch`` (what runs for
every listing: standing orders first, then notices; it registers itself with
``pc_core.marketplace.listings.announce_listed``, the one function every listing
path goes through). docs/buyer-alerts.md describes the design and its limits.
"""

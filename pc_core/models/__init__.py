"""The entities' models, one hierarchy each (``base``: the shared convention):
what a caller may send (create, update) and what the API answers (out), defined
once and used by the services and as the routes' ``response_model``.

The API's own answer and request shapes that are not an entity's live here too, so
the contract has one home: ``api`` (sign-in, sessions, status, list pages...) and
``funnel`` (the analytics funnel). ``pc_api`` imports them from here."""

"""The entities' models, one hierarchy each (``base``: the shared convention):
what a caller may send (create, update) and what the API answers (out), defined
once and used by the services and as the routes' ``response_model``."""

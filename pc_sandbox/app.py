"""The sandbox ASGI app: one process, one port, one prefix per vendor.

Each vendor lives in its own sub-package exposing ``router``; this module only
mounts them, so vendors can evolve independently.
"""

from __future__ import annotations

import importlib
import logging

from fastapi import FastAPI

log = logging.getLogger(__name__)

# (module, prefix). A vendor package that is not there yet is skipped, so the
# sandbox starts with whatever stand-ins exist.
VENDORS: tuple[tuple[str, str], ...] = (
    ("pc_sandbox.hubspot", "/hubspot"),
    ("pc_sandbox.stripe_api", "/stripe"),
    ("pc_sandbox.mailgun", "/mailgun"),
)


def create_app() -> FastAPI:
    app = FastAPI(title="Partner Connector sandbox (HubSpot, Stripe, Mailgun stand-ins)")
    for module_name, prefix in VENDORS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            log.info("sandbox vendor %s not present, skipped", module_name)
            continue
        app.include_router(module.router, prefix=prefix)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


app = create_app()

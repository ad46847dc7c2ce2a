"""The FastAPI application factory.

``create_app(settings)`` builds an app over the given settings (tests pass their
own); ``app`` is what uvicorn serves, configured from the environment. The
Socket.IO server (``pc_api.realtime``) answers at ``/socket.io`` in the same app.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from pymongo.errors import PyMongoError

from pc_api.context import AppContext
from pc_api.errors import install_error_handlers
from pc_api.observability import install_observability
from pc_api.openapi_errors import install_openapi_errors
from pc_api.openapi_security import install_openapi_security
from pc_api.realtime import SocketIOMiddleware, build_server
from pc_api.routes import (
    api_tokens,
    auth,
    billing,
    buyer_alerts,
    client_config,
    erasures,
    health,
    hubspot,
    hubspot_webhook,
    leads,
    marketplace,
    meetings,
    money,
    partners,
    platform,
    public,
    stripe_webhook,
    users,
)
from pc_api.security_middleware import install_security_middleware
from pc_api.timing import DbTimeListener, ServerTimingMiddleware
from pc_api.web_app import install_web_client
from pc_core.db import get_db, redis_client, register_command_listener
from pc_core.observability.log_redaction import install_url_redaction
from pc_core.observability.logs import configure_logging
from pc_core.settings import Settings, get_settings

log = logging.getLogger(__name__)

_listener_registered = False


def _ensure_listener() -> None:
    global _listener_registered
    if not _listener_registered:
        register_command_listener(DbTimeListener())
        _listener_registered = True


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.check_production_ready()
    _ensure_listener()
    install_url_redaction()  # OAuth codes, states, tokens: never in the access log
    db = get_db(settings)
    r = redis_client(settings)
    realtime = build_server(settings, db, r)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            app.state.pc.ensure_indexes()
        except PyMongoError as exc:
            log.error("MongoDB unavailable at start-up (%s); /health reports it", exc)
        await realtime.start()
        try:
            yield
        finally:
            await realtime.stop()

    app = FastAPI(
        title="Partner Connector API",
        version="0.1.0",
        description="Lead marketplace and CRM sync. Sign in at /v1/auth/login; "
        "send the access token as `Authorization: Bearer` or the pc_access cookie.",
        lifespan=lifespan,
    )
    app.state.pc = AppContext(settings=settings, db=db, redis=r)
    install_error_handlers(app)
    if settings.env == "development":
        # Timings tell an attacker which lookups hit the database: developers only.
        app.add_middleware(ServerTimingMiddleware)
    # Outermost: /socket.io goes to the Socket.IO server, everything else to FastAPI.
    app.state.realtime = realtime
    app.add_middleware(SocketIOMiddleware, sio=realtime.sio)
    # Outside even that: trusted-proxy addresses, body limits, CSRF (issue 11).
    install_security_middleware(app, settings)
    # Outermost of all: request id, access line and latency for every answer, also
    # the security middleware's refusals.
    install_observability(app, settings)
    install_openapi_security(app)
    for module in (health, auth, users, partners, leads, hubspot, marketplace, money,
                   stripe_webhook, hubspot_webhook, meetings, api_tokens, public, billing,
                   client_config, buyer_alerts, platform, erasures):
        app.include_router(module.router)
    # Every error status each route can answer, with its body (pc_api/openapi_errors.py).
    install_openapi_errors(app)
    # Last: the web client answers only what no route above matched.
    install_web_client(app, settings)
    return app


def app_factory() -> FastAPI:
    """Entry point for ``uvicorn --factory pc_api.main:app_factory``: JSON log lines
    (``PC_LOG_FORMAT``), uvicorn's loggers included."""
    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    return create_app(settings)

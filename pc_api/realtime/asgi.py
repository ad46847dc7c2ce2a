"""Mounting: ``/socket.io`` goes to the Socket.IO server, every other path (and the
lifespan) to the FastAPI app.

It is ``socketio.ASGIApp(sio, other_asgi_app=...)`` installed as the outermost user
middleware of the FastAPI app, so ``create_app`` still returns the FastAPI app itself
(TestClient, ``app.state``, dependency overrides and the lifespan work unchanged).
"""

from __future__ import annotations

import socketio
from starlette.types import ASGIApp, Receive, Scope, Send

SOCKETIO_PATH = "socket.io"


class SocketIOMiddleware:
    def __init__(self, app: ASGIApp, sio: socketio.AsyncServer) -> None:
        self._app = socketio.ASGIApp(sio, other_asgi_app=app, socketio_path=SOCKETIO_PATH)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)

"""Real-time: the Socket.IO server mounted in the API at ``/socket.io``.

Events are published to Redis by ``pc_core.events`` (any process: API replicas,
Dagster runs, scripts) and relayed here to the connected clients; presence
(``viewer-joined`` / ``viewer-left``) is kept in Redis so the counts hold across
replicas. See api.md ("Real-time").
"""

from pc_api.realtime.asgi import SocketIOMiddleware
from pc_api.realtime.server import build_server

__all__ = ["SocketIOMiddleware", "build_server"]

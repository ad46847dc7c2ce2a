"""The fault soak's live clients (bench/fault_soak.py): Socket.IO connections kept
open through the faults, each holding what a buyer's marketplace page shows (the
listed leads), as the web client does it: fetch the listings on (re)connect, then
follow ``lead-listed`` / ``lead-reserved`` / ``lead-sold`` / ``lead-unlisted``.

Events that arrive while the refetch is in flight are held and applied on top of
its answer (the answer may predate them). A client that was disconnected counts
what its refetch brought back that it had missed (``recovered``). At the end, with
the load stopped and settled, each client must be connected and its view must equal
the leads listed in the database, with no refetch at the end: what it shows came
from the events and the refetches after reconnects.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import httpx
import socketio
from _soak_market import listed_ids

GONE = {"lead-reserved", "lead-sold", "lead-unlisted"}


@dataclass
class LiveClient:
    name: str
    api_url: str
    token: str
    view: set[str] = field(default_factory=set)
    connects: int = 0
    disconnects: int = 0
    recovered: int = 0
    events: int = 0
    fetching: bool = False
    held: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.sio = socketio.Client(reconnection=True, reconnection_delay=0.5,
                                   reconnection_delay_max=2, randomization_factor=0.2)
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)
        for name in (*GONE, "lead-listed"):
            self.sio.on(name, self._handler(name))

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def start(self) -> None:
        self.sio.connect(self.api_url, auth={"token": self.token},
                         transports=["websocket"], wait_timeout=20)

    def stop(self) -> None:
        self.sio.disconnect()

    @property
    def connected(self) -> bool:
        return self.sio.connected

    def _on_connect(self) -> None:
        with self.lock:
            self.connects += 1
            self.fetching = True
        threading.Thread(target=self._refetch, daemon=True).start()

    def _on_disconnect(self, *_: object) -> None:
        with self.lock:
            self.disconnects += 1

    def _refetch(self) -> None:
        with httpx.Client(base_url=self.api_url, timeout=15) as http:
            for _ in range(200):
                try:
                    fresh = listed_ids(http, self.headers)
                    break
                except httpx.HTTPError:  # the API or its database still coming back
                    time.sleep(0.3)
            else:
                return
        with self.lock:
            if self.connects > 1:
                self.recovered += len(fresh ^ self.view)
            self.view = fresh
            for name, lead_id in self.held:
                self._apply(name, lead_id)
            self.held.clear()
            self.fetching = False

    def _handler(self, name: str):
        def on_event(data: dict) -> None:
            lead_id = data.get("lead_id") or data.get("id")
            with self.lock:
                self.events += 1
                if self.fetching:
                    self.held.append((name, lead_id))
                else:
                    self._apply(name, lead_id)
        return on_event

    def _apply(self, name: str, lead_id: str) -> None:
        if name == "lead-listed":
            self.view.add(lead_id)
        elif name in GONE:
            self.view.discard(lead_id)


def check_live(clients: list[LiveClient], listed: set[str]) -> list[tuple[str, list[str]]]:
    """``live-clients-caught-up``: each client connected, reconnected after every
    drop, not refetching, and showing exactly the listed leads."""
    bad = []
    for cl in clients:
        with cl.lock:
            if not cl.connected or cl.fetching:
                bad.append(f"{cl.name} (connected {cl.connected}, refetching {cl.fetching})")
                continue
            extra, missing = sorted(cl.view - listed), sorted(listed - cl.view)
        if extra or missing:
            bad.append(f"{cl.name} shows sold/reserved {extra[:5]}, misses listed "
                       f"{missing[:5]}")
    return [("live-clients-caught-up", bad)] if bad else []

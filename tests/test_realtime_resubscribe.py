"""After Redis restarts, the Socket.IO server's manager subscribes again and says so
(``pc_api.realtime.resubscribe``): events published meanwhile are gone, so the
server drops its connections and the clients refetch (the whole path, clients
included, is in ``tests/test_fault_soak.py``). A redis-server of its own, restarted
on its port; the suite's Redis is not touched."""

from __future__ import annotations

import asyncio
import os
import signal

import redis

from pc_api.realtime.resubscribe import ResubscribingRedisManager
from pc_dev import devstack


def test_the_manager_reports_a_resubscription_after_redis_restarts_and_listens_again():
    group = devstack.ProcessGroup()
    port = devstack.free_port()
    try:
        url = devstack.start_redis(group, port, None, None)
        asyncio.run(_restart_and_listen(group, port, url))
    finally:
        group.stop_all()


async def _restart_and_listen(group: devstack.ProcessGroup, port: int, url: str) -> None:
    reported = asyncio.Event()

    async def on_resubscribed() -> None:
        reported.set()

    manager = ResubscribingRedisManager(url, channel="pc-test", on_resubscribed=on_resubscribed)
    received: list[bytes] = []

    async def listen() -> None:
        async for message in manager._redis_listen_with_retries():
            if message["type"] == "message":
                received.append(message["data"])

    task = asyncio.ensure_future(listen())
    try:
        await asyncio.sleep(0.5)  # subscribed the first time: nothing to report
        assert manager.resubscriptions == 0 and not reported.is_set()
        proc = group.processes[-1].popen
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        await asyncio.to_thread(devstack.start_redis, group, port, None, None)
        await asyncio.wait_for(reported.wait(), 15)
        assert manager.resubscriptions == 1
        redis.Redis.from_url(url).publish("pc-test", b"after the restart")
        for _ in range(50):
            if received:
                break
            await asyncio.sleep(0.1)
        assert received == [b"after the restart"]
    finally:
        task.cancel()

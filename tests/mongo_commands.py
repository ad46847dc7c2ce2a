"""Counting the database commands a piece of code sends (not a test module): a pymongo
command listener for the tests and benchmarks that hold a code path to its round
trips (``bench/chilipiper_bench.py``, ``tests/test_meetings.py``,
``tests/test_alert_mail_queue.py``)."""

from __future__ import annotations

from pymongo import monitoring


class CommandNames(monitoring.CommandListener):
    """The names of the commands a client sends, in order: give it to a
    ``MongoClient(..., event_listeners=[...])`` of its own, clear ``names`` before the
    step to count and read it after."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.names.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

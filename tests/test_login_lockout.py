"""Nobody can lock anyone out from one address: failures count per (email, client
address) and per address; an email is locked for everyone only when failures from
many addresses reach the account threshold, and then its owner gets one email.

Each client below has its own address (``TestClient(client=(host, port))``), as
``request.client.host`` is after the trusted-proxy middleware.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from pc_api.main import create_app
from pc_core import collections as c
from tests.conftest import PASSWORD, market_settings

ATTACKERS = ("198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4")
VICTIM_HOME = "203.0.113.50"


@pytest.fixture
def settings(stores, sandbox_url):
    """Mail goes to the sandbox's Mailgun, so the lock email can be read back."""
    return market_settings(stores, sandbox_url)


@pytest.fixture
def mailbox(sandbox_url) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox_url + "/mailgun/_sandbox", timeout=10) as box:
        yield box


class Clients:
    """One app, one TestClient per client address."""

    def __init__(self, settings) -> None:
        self.app = create_app(settings)
        self.open: dict[str, TestClient] = {}

    def at(self, address: str) -> TestClient:
        if address not in self.open:
            self.open[address] = TestClient(self.app, client=(address, 40000)).__enter__()
        return self.open[address]

    def login(self, address: str, email: str, password: str = "wrong-password"):
        return self.at(address).post("/v1/auth/login",
                                     json={"email": email, "password": password})

    def close(self) -> None:
        for client in self.open.values():
            client.__exit__(None, None, None)


def _clients(settings) -> Iterator[Clients]:
    clients = Clients(settings)
    try:
        yield clients
    finally:
        clients.close()


@pytest.fixture
def clients(settings, db, redis_conn) -> Iterator[Clients]:
    yield from _clients(settings)


def test_a_guesser_elsewhere_does_not_lock_the_owner_out(clients, world):
    victim = world.admin_a.email
    for _ in range(5):
        assert clients.login(ATTACKERS[0], victim).status_code == 401
    refused = clients.login(ATTACKERS[0], victim, PASSWORD)
    assert refused.status_code == 429  # even the right password, from there
    assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60
    # The owner, from home, signs in as usual.
    r = clients.login(VICTIM_HOME, victim, PASSWORD)
    assert r.status_code == 200, r.text
    # And the guesser's address may still sign in to other accounts of its own.
    assert clients.login(ATTACKERS[0], world.admin_b.email, PASSWORD).status_code == 200


def test_one_address_spraying_many_emails_is_throttled(settings, db, redis_conn, world):
    strict = settings.model_copy(update={"login_ip_max_failures": 6})
    for clients in _clients(strict):
        for i in range(6):
            assert clients.login(ATTACKERS[0], f"nobody{i}@example.com").status_code == 401
        assert clients.login(ATTACKERS[0], world.user_a.email, PASSWORD).status_code == 429
        assert clients.login(ATTACKERS[1], world.user_a.email, PASSWORD).status_code == 200


def test_many_addresses_lock_the_email_for_everyone_and_tell_its_owner(
        settings, db, redis_conn, world, mailbox):
    """The account threshold (lowered to 12 here; 50 by default) reached by failures
    from three addresses, four each (under the per-address limit of 5)."""
    strict = settings.model_copy(update={"login_account_lock_failures": 12})
    victim = world.user_a.email
    for clients in _clients(strict):
        for address in ATTACKERS[:3]:
            for _ in range(4):
                assert clients.login(address, victim).status_code == 401
        # Locked for everyone, the owner too, whatever the address.
        home = clients.login(VICTIM_HOME, victim, PASSWORD)
        assert home.status_code == 429
        assert int(home.headers["Retry-After"]) > 0
        # More attempts while locked are refused without being counted or emailed.
        for _ in range(3):
            assert clients.login(ATTACKERS[3], victim).status_code == 429
        # Other accounts are untouched.
        assert clients.login(VICTIM_HOME, world.user_b.email, PASSWORD).status_code == 200
    mails = mailbox.get("/messages", params={"to": victim}).json()["items"]
    assert len(mails) == 1, mails
    assert "paused" in mails[0]["subject"]
    records = list(db[c.EMAILS].find({"template": "account_locked"}))
    assert len(records) == 1 and records[0]["status"] == "sent"
    assert "12 failed sign-in attempts" in records[0]["text"]


def test_an_unknown_email_locks_without_mail(settings, db, redis_conn):
    strict = settings.model_copy(update={"login_account_lock_failures": 3})
    for clients in _clients(strict):
        for address in ATTACKERS[:3]:
            assert clients.login(address, "ghost@example.com").status_code == 401
        assert clients.login(VICTIM_HOME, "ghost@example.com").status_code == 429
    assert db[c.EMAILS].count_documents({"template": "account_locked"}) == 0

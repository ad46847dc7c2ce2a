"""Sign-in throttling that an attacker cannot turn against the account's owner.

Counting failures per email alone let anyone lock anyone out: five wrong passwords
from anywhere blocked the real user too. Three fixed-window counters in Redis
(``pc_core.security.throttle``), all over ``PC_LOGIN_WINDOW_SECONDS``, instead:

- per (email, client address), ``PC_LOGIN_MAX_FAILURES`` (5): a guesser at one
  address gets 429 for that email, the owner elsewhere signs in as usual;
- per client address, ``PC_LOGIN_IP_MAX_FAILURES`` (50): one address spraying many
  emails gets 429 for all of them;
- per email, from anywhere, ``PC_LOGIN_ACCOUNT_LOCK_FAILURES`` (50): a distributed
  guess (at most 5 counted failures per address, so ten or more addresses) locks the
  email for everyone until the window ends, and its owner is told by email, once per
  lock.

A refused attempt (429) is refused before the password is checked, so it neither
confirms a guess nor counts. The client address is ``request.client.host`` after
the trusted-proxy middleware (``PC_TRUSTED_PROXIES``): a spoofed ``X-Forwarded-For``
does not get a fresh counter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import redis
from pymongo.database import Database

from pc_core.mail.mailer import send_email
from pc_core.security.throttle import WindowCounter
from pc_core.settings import Settings
from pc_core.timeutil import utcnow

REFUSED = "too many failed sign-in attempts; try again later"


@dataclass(frozen=True)
class LoginThrottle:
    pair: WindowCounter  # (email, address)
    address: WindowCounter  # address, whatever the email
    account: WindowCounter  # email, whatever the address

    @classmethod
    def of(cls, settings: Settings, r: redis.Redis) -> LoginThrottle:
        window = settings.login_window_seconds
        return cls(
            pair=WindowCounter(r, "login-fail:pair", settings.login_max_failures, window),
            address=WindowCounter(r, "login-fail:ip", settings.login_ip_max_failures, window),
            account=WindowCounter(r, "login-fail:account",
                                  settings.login_account_lock_failures, window),
        )

    @staticmethod
    def _pair_key(email: str, address: str) -> str:
        return f"{address} {email}"  # an email has no space; an IPv6 address has colons

    def check(self, email: str, address: str) -> None:
        """429 (with ``Retry-After``) if any of the three is at its limit."""
        self.account.check(email, REFUSED)
        self.address.check(address, REFUSED)
        self.pair.check(self._pair_key(email, address), REFUSED)

    def failed(self, email: str, address: str) -> bool:
        """Count a wrong password; ``True`` exactly once per window: when this
        failure is the one that locks the email for everyone."""
        self.pair.hit(self._pair_key(email, address))
        self.address.hit(address)
        return self.account.hit(email) == self.account.limit

    def succeeded(self, email: str, address: str) -> None:
        """The owner got in from here: this address's count for the email starts over
        (the address and account counts stand: they are about other people)."""
        self.pair.reset(self._pair_key(email, address))



def notify_locked(db: Database, settings: Settings, user: dict[str, Any],
                  throttle: LoginThrottle) -> None:
    """Tell the account's owner that sign-in is paused, and until when; once per lock
    (the dedupe key carries the lock's end, to the minute). Never raises."""
    seconds = throttle.account.seconds_left(user["email"])
    until = utcnow() + timedelta(seconds=seconds)
    send_email(
        db, settings, key=f"account-locked:{user['_id']}:{until:%Y%m%dT%H%M}",
        template="account_locked", to=[user["email"]],
        context={"name": user.get("name") or user["email"], "email": user["email"],
                 "failures": throttle.account.limit, "minutes": max(1, seconds // 60),
                 "until": f"{until:%Y-%m-%d %H:%M} UTC"},
    )

"""Who may see and change what. Every route and service asks here, nowhere else.

Rules (api.md): ``owner`` sees and changes everything; ``admin`` manages its own
partner (users, leads, settings); ``user`` reads its own partner. Another partner's
object is reported as *not found*, so ids cannot be probed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pc_core.errors import Forbidden, NotFound


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    USER = "user"


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of a service: a signed-in user or an API token."""

    user_id: str
    role: Role
    partner_id: str | None
    email: str = ""

    @property
    def is_owner(self) -> bool:
        return self.role is Role.OWNER

    def can_see_partner(self, partner_id: str | None) -> bool:
        return self.is_owner or (partner_id is not None and partner_id == self.partner_id)

    def require_partner_visible(self, partner_id: str | None, what: str) -> None:
        """404 for another partner's object."""
        if not self.can_see_partner(partner_id):
            raise NotFound(f"{what} not found")

    def require_writer(self) -> None:
        """403 for read-only callers."""
        if self.role is Role.USER:
            raise Forbidden("read-only role: this action needs an admin or the owner")

    def require_owner(self) -> None:
        if not self.is_owner:
            raise Forbidden("only the platform owner can do this")

    def require_write_on_partner(self, partner_id: str | None, what: str) -> None:
        """404 first (another partner's object stays invisible), then 403 for readers."""
        self.require_partner_visible(partner_id, what)
        self.require_writer()

    def _refuse_foreign(self, requested: str | None) -> None:
        """404 when a non-owner names a partner other than its own.

        Never silently act on the caller's own partner instead: an admin sending
        ``DELETE /v1/integrations/hubspot?partner_id=<other>`` must not disconnect
        its own HubSpot portal.
        """
        if not self.is_owner and requested is not None and requested != self.partner_id:
            raise NotFound("partner not found")

    def scoped_partner_id(self, requested: str | None) -> str | None:
        """The partner filter a list query must use.

        The owner may filter by any partner or none; everyone else is pinned to its
        own partner, and naming another one answers 404.
        """
        self._refuse_foreign(requested)
        return requested if self.is_owner else self.partner_id

    def acting_partner_id(self, requested: str | None) -> str | None:
        """The partner a per-partner action or read works on (``partner_id`` given in
        a query or a body).

        The owner may name any partner and defaults to its own; everyone else works
        on its own partner, and naming another one answers 404. ``None`` only for an
        owner without a partner who named none: the caller decides whether that is a
        400.
        """
        self._refuse_foreign(requested)
        return (requested or self.partner_id) if self.is_owner else self.partner_id

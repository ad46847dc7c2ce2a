"""Users: accounts that sign in, each with a role and (except possibly the owner) a
partner. Emails are stored lower-case and unique. Every change a request's caller
depends on is published to Redis (``pc_core.identity.session_state``) as it is written."""

from __future__ import annotations

from typing import Any

import redis
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from pc_core import collections as c
from pc_core.access import Principal, Role
from pc_core.errors import BadRequest, Conflict, Forbidden, NotFound
from pc_core.identity.session_state import bumped_version, publish_deleted, publish_user
from pc_core.identity.sessions import revoke_refresh_families
from pc_core.ids import new_id
from pc_core.models.users import UserOut
from pc_core.security.passwords import MIN_PASSWORD_LENGTH, hash_password
from pc_core.store import replace_if_unchanged, update_with_retry
from pc_core.timeutil import utcnow

# A PATCH may send null only for partner_id (an owner needs no partner); null for
# these would store a user the API cannot show or sign in.
NOT_NULL_FIELDS = ("email", "password", "name", "role", "active")


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadRequest(f"password must be at least {MIN_PASSWORD_LENGTH} characters")


def _check_partner_exists(db: Database, partner_id: str | None) -> None:
    if partner_id is None:
        return
    if db[c.PARTNERS].find_one({"_id": partner_id}, {"_id": 1}) is None:
        raise NotFound("partner not found")


def _check_grant(actor: Principal, role: Role, partner_id: str | None) -> None:
    """An admin may hand out admin or user roles on its own partner, nothing more."""
    if actor.is_owner:
        return
    actor.acting_partner_id(partner_id)  # another partner's: 404, before the 403s
    actor.require_writer()
    if role is Role.OWNER:
        raise Forbidden("only the owner can create or promote an owner")


def create_user(
    db: Database,
    actor: Principal,
    *,
    email: str,
    password: str,
    role: Role,
    partner_id: str | None,
    name: str = "",
) -> UserOut:
    if not actor.is_owner:
        partner_id = actor.acting_partner_id(partner_id)
    _check_grant(actor, role, partner_id)
    if role is not Role.OWNER and partner_id is None:
        raise BadRequest("admins and users belong to a partner: partner_id is required")
    _check_partner_exists(db, partner_id)
    _check_password(password)
    now = utcnow()
    doc = {
        "_id": new_id(),
        "email": normalise_email(email),
        "name": name,
        "password_hash": hash_password(password),
        "role": role.value,
        "partner_id": partner_id,
        "active": True,
        "created_at": now,
        "updated_at": now,
    }
    try:
        db[c.USERS].insert_one(doc)
    except DuplicateKeyError:
        raise Conflict("a user with this email already exists")
    return UserOut.from_doc(doc)


def get_user_doc(db: Database, actor: Principal, user_id: str) -> dict[str, Any]:
    doc = db[c.USERS].find_one({"_id": user_id})
    if doc is None or not actor.can_see_partner(doc.get("partner_id")):
        raise NotFound("user not found")
    if doc["role"] == Role.OWNER and not actor.is_owner:
        raise NotFound("user not found")
    return doc


def list_users(db: Database, actor: Principal, partner_id: str | None = None) -> list[UserOut]:
    scoped = actor.scoped_partner_id(partner_id)
    query: dict[str, Any] = {} if scoped is None else {"partner_id": scoped}
    if not actor.is_owner:
        query["role"] = {"$ne": Role.OWNER.value}
    docs = db[c.USERS].find(query).sort("created_at", 1).limit(1000)
    return [UserOut.from_doc(d) for d in docs]


def update_user(
    db: Database, r: redis.Redis, actor: Principal, user_id: str, changes: dict[str, Any]
) -> UserOut:
    """A role, partner, email or ``active`` change applies to the user's very next
    request; a new password or a deactivation also ends every session."""
    doc = get_user_doc(db, actor, user_id)
    actor.acting_partner_id(changes.get("partner_id"))  # another partner: 404, before 403
    actor.require_writer()
    nulls = sorted(f for f in NOT_NULL_FIELDS if f in changes and changes[f] is None)
    if nulls:
        raise BadRequest("cannot be null: " + ", ".join(nulls))
    new_role = Role(changes.get("role", doc["role"]))
    new_partner = changes.get("partner_id", doc.get("partner_id"))
    if not actor.is_owner and "partner_id" in changes and new_partner != doc.get("partner_id"):
        raise Forbidden("only the owner can move a user to another partner")
    _check_grant(actor, new_role, new_partner)
    if doc["_id"] == actor.user_id and new_role.value != doc["role"]:
        raise Conflict("you cannot change your own role")
    if new_role is not Role.OWNER and new_partner is None:
        raise BadRequest("admins and users belong to a partner: partner_id is required")
    if "partner_id" in changes:
        _check_partner_exists(db, new_partner)
    update: dict[str, Any] = {}
    for field in ("name", "active", "role", "partner_id"):
        if field in changes:
            value = changes[field]
            update[field] = value.value if isinstance(value, Role) else value
    if "email" in changes:
        update["email"] = normalise_email(changes["email"])
    if changes.get("password"):
        _check_password(changes["password"])
        update["password_hash"] = hash_password(changes["password"])
    # A new password or a deactivation ends every session of the user, in the same
    # compare-and-set write (a reactivation later does not revive them).
    revoke = "password_hash" in update or (
        update.get("active") is False and doc.get("active", True)
    )
    if revoke:
        update.update(bumped_version(doc))
    update["updated_at"] = utcnow()
    try:
        after = replace_if_unchanged(db[c.USERS], doc, update)
    except DuplicateKeyError:
        raise Conflict("a user with this email already exists")
    if after is None:
        raise Conflict("the user changed meanwhile; reload and try again")
    publish_user(r, after)
    if revoke:
        revoke_refresh_families(db, after["_id"])
    return UserOut.from_doc(after)


def delete_user(db: Database, r: redis.Redis, actor: Principal, user_id: str) -> None:
    doc = get_user_doc(db, actor, user_id)
    actor.require_writer()
    _check_grant(actor, Role(doc["role"]), doc.get("partner_id"))
    if doc["_id"] == actor.user_id:
        raise Conflict("you cannot delete yourself")
    db[c.USERS].delete_one({"_id": doc["_id"]})
    publish_deleted(r, doc["_id"])
    revoke_refresh_families(db, doc["_id"])


def upsert_owner(db: Database, r: redis.Redis, email: str, password: str,
                 partner_id: str | None) -> UserOut:
    """Create the owner, or reset its password and role (``pc create-owner``); a
    reset ends every session of that user (at once if ``r`` is the API's Redis, else
    within ``session_state.TTL_S``)."""
    _check_password(password)
    now = utcnow()
    email = normalise_email(email)
    owner_fields = {
        "password_hash": hash_password(password),
        "role": Role.OWNER.value,
        "active": True,
        "updated_at": now,
    }
    existing = db[c.USERS].find_one({"email": email}, {"_id": 1})
    if existing is not None:
        doc = update_with_retry(db[c.USERS], existing["_id"],
                                lambda current: {**owner_fields, **bumped_version(current)},
                                what="user")
        publish_user(r, doc)
        revoke_refresh_families(db, doc["_id"])
        return UserOut.from_doc(doc)
    doc = {"_id": new_id(), "email": email, "name": "Owner", "partner_id": partner_id,
           "created_at": now, **owner_fields}
    try:
        db[c.USERS].insert_one(doc)
    except DuplicateKeyError:  # created concurrently: reset that one instead
        return upsert_owner(db, r, email, password, partner_id)
    return UserOut.from_doc(doc)

"""User management: the owner everywhere, an admin on its own partner."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from pc_api.deps import CurrentUser, Db, Redis
from pc_core.access import Role
from pc_core.identity import users as service
from pc_core.models.users import UserCreate, UserOut, UserUpdate

router = APIRouter(prefix="/v1/users", tags=["users"])
_errors = {403: {"description": "Role not allowed"}, 404: {"description": "Not found"}}


@router.get("", response_model=list[UserOut])
def list_users(actor: CurrentUser, db: Db, partner_id: str | None = None) -> list[UserOut]:
    return service.list_users(db, actor, partner_id)


@router.post("", response_model=UserOut, status_code=status.HTTP_201_CREATED, responses=_errors)
def create_user(body: UserCreate, actor: CurrentUser, db: Db) -> UserOut:
    return service.create_user(
        db, actor, email=body.email, password=body.password, role=Role(body.role),
        partner_id=body.partner_id, name=body.name,
    )


@router.get("/{user_id}", response_model=UserOut, responses=_errors)
def get_user(user_id: str, actor: CurrentUser, db: Db) -> UserOut:
    return UserOut.from_doc(service.get_user_doc(db, actor, user_id))


@router.patch("/{user_id}", response_model=UserOut, responses=_errors)
def update_user(user_id: str, body: UserUpdate, actor: CurrentUser, db: Db,
                r: Redis) -> UserOut:
    return service.update_user(db, r, actor, user_id, body.model_dump(exclude_unset=True))


@router.delete(
    "/{user_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
    responses=_errors,
)
def delete_user(user_id: str, actor: CurrentUser, db: Db, r: Redis) -> Response:
    service.delete_user(db, r, actor, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

"""What every entity's models share: the update model derived from the base, and
the page shape of list answers.

Each entity has one hierarchy, as full-stack-fastapi-template does: a *base* with
the fields a person may set and their rules, a *create* model (the base plus what
only creation takes), an *update* model (every base field optional, the same
rules, derived here so the rules are written once) and an *out* model (the
answer; the template calls it *public*). The out models keep the names the HTTP
contract has always had (``LeadOut``, ``UserOut``...): the web client's generated
types name them.

Out models are built from a stored document by one ``from_doc`` per entity, which
validates: an answer that breaks its model is a bug found here, not in a client.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel, create_model
from pydantic.fields import FieldInfo


def all_optional(base: type[BaseModel], name: str, *, doc: str,
                 **extra: Any) -> type[BaseModel]:
    """``base`` with every field optional (default ``None``) under the same rules
    (lengths, ranges, validators), plus ``extra`` fields (``name=(type, Field(...))``).

    A ``PATCH`` body: only the fields sent change (``model_fields_set``).
    """
    fields: dict[str, Any] = {}
    for field_name, info in base.model_fields.items():
        optional: FieldInfo = copy.copy(info)
        optional.default = None
        optional.default_factory = None
        fields[field_name] = (info.annotation | None, optional)
    return create_model(name, __base__=base, __doc__=doc, __module__=base.__module__,
                        **fields, **extra)

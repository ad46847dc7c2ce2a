"""The OpenAPI contract holds: schemathesis sends generated requests (valid and
invalid) to every operation of the app, in process, as an admin with a bearer token
over seeded data, and checks that nothing answers 5xx, that every status is one the
operation documents, and that every body (success or ``{"detail"}`` error) matches
its documented schema.

Bounded for ``make test``: a few examples per operation (``PC_CONTRACT_EXAMPLES``
raises it for a deeper run), no stateful phase. Operations that end the session
under test (``logout-all``) are left out; their contract is in tests/test_sessions.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from pc_api.main import create_app
from pc_core import collections as c
from pc_core.access import Role
from pc_core.identity import api_tokens
from pc_core.identity.auth import principal_of
from pc_core.leads.inventory import create_lead
from pc_core.models.leads import LeadCreate
from pc_core.settings import Settings
from tests.conftest import SYSTEM, Stores, World, build_world, fresh_settings, indexed_db

# Bounded and repeatable in the suite; PC_CONTRACT_EXAMPLES=100 explores further (random).
_DEEP = os.environ.get("PC_CONTRACT_EXAMPLES")
EXAMPLES = int(_DEEP or 8)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
# Would sign the admin out everywhere, leaving every later request a 401. Onboarding
# always calls Stripe (none here: a 502); its contract is in tests/test_payouts.py.
EXCLUDED_PATHS = ("/v1/auth/logout-all", "/v1/payouts/onboarding")


@pytest.fixture(scope="module")
def contract_settings(stores: Stores) -> Settings:
    # Mail goes nowhere (a closed port): nothing leaves the test.
    return fresh_settings(stores).model_copy(
        update={"mailgun_base_url": "http://127.0.0.1:9/mailgun"})


@pytest.fixture(scope="module")
def contract_db(contract_settings):
    yield from indexed_db(contract_settings)


@pytest.fixture(scope="module")
def contract_world(contract_db, contract_settings) -> World:
    world = build_world(contract_db, contract_settings)
    for i in range(5):
        create_lead(contract_db, SYSTEM, LeadCreate(title=f"Seeded lead {i}",
                                                    partner_id=world.partner_a,
                                                    status="listed" if i % 2 else None))
    return world


@pytest.fixture(scope="module")
def contract_app(contract_settings, contract_db, contract_world) -> Iterator:
    app = create_app(contract_settings)
    with TestClient(app):  # runs the lifespan (indexes, realtime)
        yield app


@pytest.fixture(scope="module")
def api_schema(contract_app):
    config = SchemathesisConfig.from_dict({"generation": {"max-examples": EXAMPLES}})
    schema = schemathesis.openapi.from_asgi("/openapi.json", contract_app, config=config)
    return schema.exclude(path=list(EXCLUDED_PATHS))


@pytest.fixture(scope="module")
def caller(contract_db, contract_world) -> dict[str, str]:
    """An admin of Agency A: its bearer token, and an admin API key for /v1/public."""
    admin = principal_of(contract_db[c.USERS].find_one({"_id": contract_world.admin_a.id}))
    key = api_tokens.create_token(contract_db, admin, name="contract", role=Role.ADMIN,
                                  rate_limit_per_minute=100_000).token
    return {**contract_world.admin_a.headers, "X-API-Key": key}


@pytest.fixture(scope="module")
def known_ids(contract_db, contract_world) -> dict[str, str]:
    """Existing objects the admin may see, for path parameters."""
    admin = principal_of(contract_db[c.USERS].find_one({"_id": contract_world.admin_a.id}))
    token = api_tokens.create_token(contract_db, admin, name="target", role=Role.USER)
    lead = contract_db[c.LEADS].find_one({"partner_id": contract_world.partner_a})
    return {"partner_id": contract_world.partner_a, "lead_id": lead["_id"],
            "user_id": contract_world.user_a.id, "token_id": token.id}


def _exercise(operation, mode: GenerationMode, headers: dict[str, str],
              answered: dict[str, set[int]], ids: dict[str, str] | None = None) -> str | None:
    """Run ``EXAMPLES`` generated cases of one operation (with ``ids`` as its path
    parameters, if given); the first failure, if any."""
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=ids)

    @given(case=strategy)
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=not _DEEP, database=None,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    def run(case) -> None:
        r = case.call_and_validate(checks=CHECKS, headers=headers, allow_redirects=False)
        answered.setdefault(operation.label, set()).add(r.status_code)

    try:
        run()
    except Unsatisfiable:
        return None  # no input to make invalid: nothing to send in negative mode
    except Exception as exc:  # noqa: BLE001 - reported below, one line per operation
        return f"{operation.label} [{mode.value}]: {exc}"
    return None


def test_every_operation_keeps_its_contract(api_schema, caller, known_ids):
    failures: list[str] = []
    answered: dict[str, set[int]] = {}
    operations = list(api_schema.get_all_operations())
    for result in operations:
        operation = result.ok()
        runs = [(GenerationMode.POSITIVE, None), (GenerationMode.NEGATIVE, None)]
        names = [p.name for p in operation.path_parameters]
        if names and all(name in known_ids for name in names):
            # Random ids only ever find nothing: once more with ids that exist.
            runs.append((GenerationMode.POSITIVE, {n: known_ids[n] for n in names}))
        for mode, ids in runs:
            failure = _exercise(operation, mode, caller, answered, ids)
            if failure:
                failures.append(failure)
    assert not failures, "\n\n".join(failures)
    # It ran as a signed-in admin over data: most operations succeeded at least once.
    succeeded = {label for label, codes in answered.items() if any(c < 400 for c in codes)}
    assert len(operations) > 40 and len(succeeded) > len(operations) // 2, sorted(answered)


def test_the_seeded_admin_still_works(contract_app, contract_world, contract_db):
    """The run above really ran as a signed-in admin over data (not all 401s)."""
    with TestClient(contract_app) as client:
        r = client.get("/v1/leads", headers=contract_world.admin_a.headers)
    assert r.status_code == 200 and r.json()["items"]
    assert contract_db[c.LEADS].count_documents({}) >= 5


# Form answers arrive as people typed them; a huge number is kept as text
# (pc_core/meetings/payload.py), never stored as an integer.
UNBOUNDED_BY_DESIGN = {"FormAnswers.company_size", "FormAnswers.budget"}


def _unbounded_integers(schema: dict, where: str, components: dict, seen=()) -> list[str]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return []
        return _unbounded_integers(components[name], name, components, (*seen, name))
    found = []
    if schema.get("type") == "integer" and "maximum" not in schema \
            and where not in UNBOUNDED_BY_DESIGN:
        found.append(where)
    for sub in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
        found += _unbounded_integers(sub, where, components, seen)
    for name, sub in schema.get("properties", {}).items():
        found += _unbounded_integers(sub, f"{where}.{name}", components, seen)
    if isinstance(schema.get("items"), dict):
        found += _unbounded_integers(schema["items"], f"{where}[]", components, seen)
    return found


def test_every_integer_input_has_a_maximum(contract_app):
    """An integer past 2**63 reaching MongoDB is a 500 (schemathesis found one in the
    listing filters): every integer a client sends is bounded in the contract."""
    spec = contract_app.openapi()
    components = spec["components"]["schemas"]
    unbounded = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            for param in op.get("parameters", []):
                unbounded += _unbounded_integers(
                    param.get("schema", {}), f"{method.upper()} {path} {param['name']}",
                    components)
            for media in op.get("requestBody", {}).get("content", {}).values():
                unbounded += _unbounded_integers(media.get("schema", {}),
                                                 f"{method.upper()} {path} body", components)
    assert not unbounded, unbounded

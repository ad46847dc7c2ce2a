"""The ``pc`` command: run the whole platform, seed demo data, create an owner.

``create-owner`` is an operator command (the image runs it as a Kubernetes Job); it
lives with the launcher because the ``pc`` script does, and calls ``pc_core`` services.
"""

from __future__ import annotations

import sys
from typing import Annotated

import redis
import typer

from pc_core.db import get_db, redis_client
from pc_core.identity.session_state import TTL_S
from pc_core.identity.users import upsert_owner
from pc_core.settings import Settings, get_settings
from pc_core.store.indexes import ensure_indexes
from pc_dev.demo_seed import seed_demo
from pc_dev.runner import run_platform
from pc_dev.worker_process import run_worker

app = typer.Typer(help="Partner Connector: lead marketplace and CRM sync.", no_args_is_help=True)


def _db(settings: Settings):
    db = get_db(settings)
    ensure_indexes(db)
    return db


@app.command("create-owner")
def create_owner(
    email: Annotated[str, typer.Option(help="The owner's email", envvar="PC_OWNER_EMAIL")],
    password: Annotated[str, typer.Option(
        help="At least 8 characters (prompted; or PC_OWNER_PASSWORD, e.g. from a Secret)",
        prompt=True, hide_input=True, envvar="PC_OWNER_PASSWORD")],
) -> None:
    """Create the platform owner, or reset its password (bootstrap of a fresh install)."""
    settings = get_settings()
    settings.check_production_ready()
    r = redis_client(settings)
    user = upsert_owner(_db(settings), r, email, password, partner_id=None)
    typer.echo(f"owner {user.email} ready (id {user.id})")
    try:
        r.ping()
    except redis.RedisError:
        typer.echo(f"warning: no Redis at {settings.redis_url}: a reset owner's old sessions "
                   f"end within {TTL_S} s, not at once", err=True)


@app.command()
def seed() -> None:
    """Insert the demo data (idempotent)."""
    result = seed_demo(_db(get_settings()))
    typer.echo(f"demo data ready ({result['leads_created']} new leads)")


@app.command()
def worker(
    lanes: Annotated[str, typer.Option(
        help="Comma-separated: webhook, sale, alert, pushback, relay",
    )] = "webhook,sale,alert,pushback,relay",
) -> None:
    """The hot path: apply webhook events, deliver sales, send saved searches'
    e-mails, push platform edits and relay buyers' deal moves as they arrive (runs
    until SIGTERM/Ctrl-C). Batches are reported to Dagster when DAGSTER_HOME is set."""
    run_worker(get_settings(), tuple(x.strip() for x in lanes.split(",") if x.strip()))


@app.command()
def run(
    no_dagster: Annotated[bool, typer.Option(help="Skip the Dagster webserver/daemon")] = False,
) -> None:
    """Start storage, Redis, the sandbox, the API and Dagster; seed; wait for Ctrl-C."""
    sys.exit(run_platform(get_settings(), with_dagster=not no_dagster))


def main() -> None:  # pragma: no cover - console entry
    app()



if __name__ == "__main__":  # pragma: no cover - `python -m pc_dev.cli`
    main()

"""Benchmarks that go through the Dagster daemon: a sandbox portal attached to a
partner as the OAuth flow would leave it, and a daemon started as ``pc run`` starts it."""

from __future__ import annotations

import os
import subprocess
from datetime import timedelta
from pathlib import Path

import httpx
from pymongo.database import Database

from pc_core import collections as c
from pc_core.hubspot.connection.oauth import PartnerTokens
from pc_core.hubspot.lead_build.stage_mapping import store_pipeline_stages
from pc_core.hubspot.pull.engine import pull_pipelines
from pc_core.security.encryption import encrypt_secret
from pc_core.settings import Settings
from pc_core.timeutil import utcnow
from pc_dev import devstack

REPO = Path(__file__).resolve().parents[1]


def attach_sandbox_portal(db: Database, settings: Settings, partner_id: str, *,
                          contacts: int, deals: int, seed: int) -> tuple[str, PartnerTokens]:
    """A new sandbox portal connected to the partner (tokens stored encrypted) with its
    pipelines pulled and mapped; the portal id and the partner's tokens."""
    hubspot = settings.hubspot_base_url
    portal = str(httpx.post(f"{hubspot}/_sandbox/portals", json={
        "contacts": contacts, "deals": deals, "pipelines": 2, "seed": seed}).json()["id"])
    tokens = httpx.post(f"{hubspot}/_sandbox/portals/{portal}/tokens").json()
    key = settings.token_encryption_key
    doc = db[c.PARTNERS].find_one({"_id": partner_id})
    db[c.PARTNERS].replace_one({"_id": partner_id}, {**doc, "hubspot": {
        "portal_id": portal, "scopes": [], "last_synced_at": None,
        "access_token": encrypt_secret(key, tokens["access_token"]),
        "refresh_token": encrypt_secret(key, tokens["refresh_token"]),
        "expires_at": utcnow() + timedelta(seconds=tokens["expires_in"])}})
    toks = PartnerTokens(db, settings, partner_id)
    store_pipeline_stages(db, partner_id, pull_pipelines(db, settings, partner_id, toks))
    return portal, toks


def daemon_env(settings: Settings, home: Path) -> dict[str, str]:
    """The environment ``pc run`` gives the Dagster daemon and the worker: ``settings``'
    stores and services, and the Dagster instance under ``home``."""
    return {"DAGSTER_HOME": str(home), "MONGODB_URI": settings.mongodb_uri,
            "MONGODB_DB": settings.mongodb_db, "REDIS_URL": settings.redis_url,
            "PC_HUBSPOT_BASE_URL": settings.hubspot_base_url,
            "PC_STRIPE_API_BASE": settings.stripe_api_base,
            "PC_MAILGUN_BASE_URL": settings.mailgun_base_url,
            "PC_HUBSPOT_CLIENT_SECRET": settings.hubspot_client_secret,
            "PC_TOKEN_ENCRYPTION_KEY": settings.token_encryption_key}


def start_worker(group: devstack.ProcessGroup, settings: Settings, home: Path,
                 extra_env: dict[str, str] | None = None) -> devstack.ManagedProcess:
    """``pc worker`` as ``pc run`` starts it (``extra_env`` on top), its log in
    ``home/worker.log``, returned once it listens for wake-ups (a benchmark measures a
    running worker, not its start-up)."""
    import redis  # noqa: PLC0415 - only the benchmarks that start a worker need it

    from pc_core.store import wakeups  # noqa: PLC0415

    proc = group.start("worker", [devstack.venv_bin("python"), "-m", "pc_dev.cli", "worker"],
                       env={**daemon_env(settings, home), "PC_LOG_LEVEL": "INFO",
                            **(extra_env or {})},
                       cwd=REPO, log_path=home / "worker.log")
    listening = redis.Redis.from_url(settings.redis_url)
    devstack.wait_until(
        lambda: dict(listening.pubsub_numsub(wakeups.CHANNEL)).get(
            wakeups.CHANNEL.encode(), 0) > 0, 120, "worker", proc)
    return proc


def start_api_and_worker(group: devstack.ProcessGroup, settings: Settings,
                         home: Path) -> str:
    """The API (uvicorn, one worker) on a free port, then ``pc worker``
    (``start_worker``), both over ``settings``' stores and HubSpot with text logs; the
    API's URL once it answers and the worker listens (the hot-path benches measure
    running processes, not their start-up)."""
    port = devstack.free_port()
    api = f"http://127.0.0.1:{port}"
    env = {"MONGODB_URI": settings.mongodb_uri, "REDIS_URL": settings.redis_url,
           "MONGODB_DB": settings.mongodb_db, "PC_HUBSPOT_BASE_URL": settings.hubspot_base_url,
           "PC_API_PORT": str(port), "PC_LOG_FORMAT": "text", "PC_LOG_LEVEL": "WARNING"}
    proc = group.start("api", [devstack.venv_bin("uvicorn"), "--factory",
                               "pc_api.main:app_factory", "--port", str(port),
                               "--workers", "1", "--log-level", "warning",
                               "--no-access-log"], env=env)
    devstack.wait_until(lambda: devstack.http_answers(api + "/health"), 60, "API", proc)
    print(f"worker log: {home / 'worker.log'}")
    start_worker(group, settings, home,
                 extra_env={"PC_API_PORT": str(port), "PC_LOG_FORMAT": "text"})
    return api


def start_daemon(group: devstack.ProcessGroup, settings: Settings, home: Path,
                 partners: list[str], extra_env: dict[str, str] | None = None) -> None:
    """``dagster-daemon`` over ``settings``' stores and services (``extra_env`` on
    top), with the partners' partitions already added (so ``partners_sensor`` starts
    no full syncs)."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(
        # as pc run writes it: runs launched as sensors request them (no queue hop),
        # sensors in threads so one slow sensor does not delay another's ticks
        "run_coordinator:\n  module: dagster.core.run_coordinator\n"
        "  class: DefaultRunCoordinator\n"
        "sensors:\n  use_threads: true\n  num_workers: 4\n"
        "telemetry:\n  enabled: false\n")
    env = {**daemon_env(settings, home), **(extra_env or {})}
    subprocess.run([devstack.venv_bin("python"), "-c",
                    "from dagster import DagsterInstance as I; "
                    f"I.get().add_dynamic_partitions('partners', {partners!r})"],
                   env={**os.environ, **env}, check=True, cwd=REPO)
    group.start("dagster-daemon", [devstack.venv_bin("dagster-daemon"), "run",
                                   "-w", str(REPO / "workspace.yaml")],
                env=env, cwd=REPO, log_path=home / "daemon.log")

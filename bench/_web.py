"""Shared set-up of the browser benchmarks: the API (serving web/dist) over fresh
stores with the demo data, and Debian's Chromium through Playwright, launched the
way the browser tests launch it (tests/web/browser.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from _stack import Stack, running_stack
from playwright.sync_api import Browser, sync_playwright
from pymongo.database import Database

from pc_core.db import get_db
from pc_core.settings import Settings
from pc_core.store.indexes import ensure_indexes
from pc_dev.demo_seed import seed_demo
from tests.web.browser import launch

DEMO_PASSWORD = "demo-pass-123"


@dataclass
class WebBench:
    stack: Stack
    browser: Browser
    db: Database


def web_built() -> bool:
    return (Settings().web_dist_dir / "index.html").is_file()


@contextmanager
def web_bench() -> Iterator[WebBench]:
    with running_stack() as stack, sync_playwright() as pw:
        db = get_db(stack.settings)
        ensure_indexes(db)
        seed_demo(db)
        browser = launch(pw)
        try:
            yield WebBench(stack, browser, db)
        finally:
            browser.close()

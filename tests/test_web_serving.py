"""The API serves the built web client at ``/`` (pc_api/web_app.py), over a tiny
fake ``dist`` (``PC_WEB_DIST``): cache headers, SPA fallback, API paths untouched."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pc_api.main import create_app
from pc_core.settings import Settings

INDEX = "<!doctype html><html><body><div id=app>SPA</div></body></html>"
HTML = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "assets" / "index-abc123.js").write_text("console.log('app')")
    (root / "favicon.svg").write_text("<svg/>")
    return root


def _client(settings: Settings, dist: Path) -> TestClient:
    return TestClient(create_app(settings.model_copy(update={"web_dist": dist})))


@pytest.fixture
def web(settings: Settings, db, redis_conn, dist: Path):
    with _client(settings, dist) as client:
        yield client


def test_root_serves_index_not_cached(web):
    r = web.get("/")
    assert r.status_code == 200
    assert "SPA" in r.text and r.headers["content-type"].startswith("text/html")
    assert r.headers["cache-control"] == "no-cache"
    # Revalidation: the ETag answers 304.
    again = web.get("/", headers={"if-none-match": r.headers["etag"]})
    assert again.status_code == 304


def test_hashed_assets_cached_for_a_year(web):
    r = web.get("/assets/index-abc123.js")
    assert r.status_code == 200 and "console.log" in r.text
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"


def test_missing_asset_is_404_not_index(web):
    r = web.get("/assets/gone-000.js", headers=HTML)
    assert r.status_code == 404
    assert "SPA" not in r.text


def test_top_level_file_is_revalidated(web):
    r = web.get("/favicon.svg")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-cache"


def test_spa_fallback_for_browser_navigation(web):
    r = web.get("/settings/hubspot?success=true", headers=HTML)
    assert r.status_code == 200 and "SPA" in r.text
    assert r.headers["cache-control"] == "no-cache"
    assert web.head("/leads/abc", headers=HTML).status_code == 200


def test_unknown_path_without_html_accept_is_404(web):
    r = web.get("/settings/hubspot", headers={"accept": "application/json"})
    assert r.status_code == 404


@pytest.mark.parametrize("path", ["/v1/nope", "/v1", "/v1/leads/x/y/z", "/health/x", "/docs/x"])
def test_unknown_api_paths_stay_json_404(web, path):
    r = web.get(path, headers=HTML)
    assert r.status_code == 404
    assert r.json() == {"detail": "Not Found"}


def test_api_routes_untouched(web):
    assert web.get("/health").json()["status"] == "ok"
    assert web.get("/openapi.json").json()["info"]["title"] == "Partner Connector API"
    assert "swagger" in web.get("/docs").text.lower()
    # A wrong method on a real route is still 405, an unknown POST still 404.
    assert web.get("/v1/auth/login", headers=HTML).status_code == 405
    assert web.post("/v1/nope").status_code == 404
    assert web.post("/settings/hubspot", headers=HTML).status_code == 404
    # /socket.io belongs to the Socket.IO server, never to the client.
    assert "SPA" not in web.get("/socket.io/", headers=HTML).text


def test_path_traversal_is_not_served(web, dist: Path):
    (dist.parent / "secret.txt").write_text("top secret")
    r = web.get("/../secret.txt")
    assert "top secret" not in r.text
    r = web.get("/assets/..%2F..%2Fsecret.txt")
    assert "top secret" not in r.text


def test_missing_build_explains_itself(settings, db, redis_conn, tmp_path):
    with _client(settings, tmp_path / "no-dist") as client:
        r = client.get("/")
        assert r.status_code == 503
        assert "not built" in r.text and "make install" in r.text
        assert client.get("/leads", headers=HTML).status_code == 503
        assert client.get("/health").status_code == 200
        assert client.get("/assets/x.js").status_code == 404


def test_build_appearing_later_is_served_without_restart(settings, db, redis_conn, tmp_path):
    root = tmp_path / "later"
    with _client(settings, root) as client:
        assert client.get("/").status_code == 503
        root.mkdir()
        (root / "index.html").write_text(INDEX)
        assert client.get("/").status_code == 200

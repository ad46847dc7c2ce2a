from fastapi.testclient import TestClient

from pc_api.main import create_app
from pc_dev import devstack


def test_health_ok(client):
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "mongo": "ok", "redis": "ok"}


def test_health_names_redis_when_it_is_stopped(settings, db):
    group = devstack.ProcessGroup()
    url = devstack.start_redis(group, devstack.free_port(), None, None)
    own = settings.model_copy(update={"redis_url": url})
    with TestClient(create_app(own)) as client:
        assert client.get("/health").status_code == 200
        group.stop_all()
        r = client.get("/health")
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "error"
    assert body["mongo"] == "ok"
    assert body["redis"].startswith("error")


def test_health_names_mongo_when_it_is_down(settings, redis_conn):
    dead = settings.model_copy(
        update={"mongodb_uri": f"mongodb://127.0.0.1:{devstack.free_port()}/?serverSelectionTimeoutMS=300"}
    )
    with TestClient(create_app(dead)) as client:
        r = client.get("/health")
    assert r.status_code == 503
    assert r.json()["mongo"].startswith("error")
    assert r.json()["redis"] == "ok"

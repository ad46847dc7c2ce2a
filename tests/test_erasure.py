"""Erasing a contact by e-mail (issue 18, point 6): leads, notes, stage history,
queued e-mails, meetings and the Parquet warehouse lose every trace; the audit record
keeps who, when and how many (never the e-mail); the check proves nothing is left and
fails when something is."""

from __future__ import annotations

import json

import polars as pl
import pytest
from dagster import AssetSpec, materialize

from pc_core import collections as c
from pc_pipelines.analytics.assets import lead_stage_history, marketplace_listings
from pc_pipelines.analytics.warehouse import IO_MANAGER_KEY, warehouse_io_manager
from pc_pipelines.lib.partitions import partners_partitions

CONTACT = "grace@hopper.example.com"


def _lead(client, account, **fields) -> str:
    r = client.post("/v1/leads", json={"title": "Deal", **fields}, headers=account.headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _erase(client, account, email: str = CONTACT.upper(), **body):
    return client.post("/v1/erasures", json={"email": email, **body}, headers=account.headers)


@pytest.fixture
def warehouse(tmp_path, monkeypatch):
    path = tmp_path / "warehouse"
    monkeypatch.setenv("PC_WAREHOUSE_URL", str(path))
    return path


def _materialise(instance, resources, warehouse, partner_id: str) -> None:
    instance.add_dynamic_partitions(partners_partitions.name, [partner_id])
    result = materialize(
        [AssetSpec("leads", partitions_def=partners_partitions),
         lead_stage_history, marketplace_listings],
        selection=[lead_stage_history, marketplace_listings], partition_key=partner_id,
        instance=instance, resources={**resources, IO_MANAGER_KEY: warehouse_io_manager(
            str(warehouse))})
    assert result.success


def test_erasure_removes_every_trace(client, world, db, instance, resources, warehouse):
    gone = _lead(client, world.admin_a, contact_email=CONTACT, contact_name="Grace Hopper")
    client.patch(f"/v1/leads/{gone}", json={"stage": "contacted"}, headers=world.admin_a.headers)
    client.post(f"/v1/leads/{gone}/notes", json={"body": "called"}, headers=world.admin_a.headers)
    other = _lead(client, world.admin_a, contact_email="someone@else.example.com")
    for body in (f"Grace ({CONTACT}) referred them", "unrelated"):
        client.post(f"/v1/leads/{other}/notes", json={"body": body},
                    headers=world.admin_a.headers)
    db[c.EMAILS].insert_one({"_id": "queued", "to": world.admin_a.email,
                             "text": f"New lead: {CONTACT}", "status": "pending"})
    db[c.MEETINGS].insert_one({"_id": "m1", "lead_id": gone, "partner_id": world.partner_a,
                               "form": {"email": CONTACT}})
    theirs = _lead(client, world.admin_b, contact_email=CONTACT)
    _materialise(instance, resources, warehouse, world.partner_a)
    history = warehouse / "lead_stage_history" / f"{world.partner_a}.parquet"
    assert pl.read_parquet(history).filter(pl.col("lead_id") == gone).height >= 2

    r = _erase(client, world.admin_a)

    assert r.status_code == 200, r.text
    body = r.json()
    assert body["check"] == {"passed": True, "traces": {}}
    removed = body["removed"]
    assert removed["leads"] == 1 and removed["notes"] == 1 and removed["emails"] == 1
    assert removed["stage_events"] >= 1 and removed["meetings"] == 1
    assert removed["warehouse_rows"] >= 2
    assert client.get(f"/v1/leads/{gone}", headers=world.admin_a.headers).status_code == 404
    notes = client.get(f"/v1/leads/{other}", headers=world.admin_a.headers).json()["notes"]
    assert [n["body"] for n in notes] == ["unrelated"]
    assert db[c.STAGE_EVENTS].count_documents({"lead_id": gone}) == 0
    frame = pl.read_parquet(history)
    assert frame.filter(pl.col("lead_id") == gone).height == 0
    assert frame.filter(pl.col("lead_id") == other).height >= 1  # the rest stays
    # An admin erases its own partner's leads only: partner B's copy stays.
    assert client.get(f"/v1/leads/{theirs}", headers=world.admin_b.headers).status_code == 200
    # The audit: who, when, how many; never the e-mail.
    audit = client.get("/v1/erasures", headers=world.owner.headers).json()
    assert len(audit) == 1 and audit[0]["actor_user_id"] == world.admin_a.id
    assert audit[0]["removed"]["leads"] == 1 and audit[0]["check_passed"] is True
    assert "grace" not in json.dumps(audit).lower()
    assert "grace" not in json.dumps(list(db[c.ERASURES].find({})), default=str).lower()
    assert client.get("/v1/erasures", headers=world.admin_b.headers).json() == []
    # The owner erases everywhere.
    everywhere = _erase(client, world.owner)
    assert everywhere.json()["removed"]["leads"] == 1 and everywhere.json()["check"]["passed"]
    assert db[c.LEADS].count_documents({"contact_email": CONTACT}) == 0


def test_the_check_finds_what_erasure_did_not_cover(client, world, db, warehouse):
    _lead(client, world.admin_a, contact_email=CONTACT)
    kept = _lead(client, world.admin_a, title=f"Ask {CONTACT} for an intro")
    body = _erase(client, world.admin_a).json()
    assert body["removed"]["leads"] == 1
    assert body["check"] == {"passed": False, "traces": {"leads": 1}}
    assert db[c.ERASURES].find_one({})["check_passed"] is False
    assert client.get(f"/v1/leads/{kept}", headers=world.admin_a.headers).status_code == 200


def test_the_check_finds_a_warehouse_trace(client, world, db, warehouse):
    path = warehouse / "some_table"
    path.mkdir(parents=True)
    pl.DataFrame({"lead_id": ["x"], "who": [CONTACT]}).write_parquet(
        path / f"{world.partner_a}.parquet")
    body = _erase(client, world.owner).json()
    assert body["removed"]["warehouse_rows"] == 1 and body["check"]["passed"] is True
    assert pl.read_parquet(path / f"{world.partner_a}.parquet").height == 0


def test_who_may_erase_and_bad_input(client, world, db, warehouse):
    lead = _lead(client, world.admin_a, contact_email=CONTACT)
    assert _erase(client, world.user_a).status_code == 403
    assert _erase(client, world.admin_b, partner_id=world.partner_a).status_code == 404
    assert _erase(client, world.admin_a, "not-an-email").status_code == 422
    assert client.post("/v1/erasures", json={}, headers=world.owner.headers).status_code == 422
    assert client.get("/v1/erasures", headers=world.user_a.headers).status_code == 403
    assert client.get(f"/v1/leads/{lead}", headers=world.admin_a.headers).status_code == 200
    assert db[c.ERASURES].count_documents({}) == 0
    nobody = _erase(client, world.admin_a, "nobody@nowhere.example.com")
    assert nobody.status_code == 200 and nobody.json()["removed"] == {}
    assert nobody.json()["check"]["passed"] is True

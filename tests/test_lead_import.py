"""CSV import: a bad row never stops the good ones, and nothing half-written remains."""

from __future__ import annotations

from fastapi.testclient import TestClient

from pc_api.main import create_app
from pc_core import collections as c

HEADER = "title,company,contact_email,company_size,amount,stage,external_id\n"


def _import(client, account, content: bytes | str, **data):
    if isinstance(content, str):
        content = content.encode()
    return client.post(
        "/v1/leads/import",
        files={"file": ("leads.csv", content, "text/csv")},
        data=data,
        headers=account.headers,
    )


def test_good_rows_land_and_bad_rows_are_reported(client, world, db):
    csv = HEADER + (
        "Acme,Acme Inc,ada@acme.example.com,51-200,\"1,234.50\",proposal,A1\n"   # row 2 ok
        "Broken email,X,not-an-email,,,,A2\n"                                      # row 3 bad
        "Too,many,fields,here,1,new,A3,extra\n"                                    # row 4 ragged
        "Bad stage,Y,,,10,finished,A4\n"                                           # row 5 bad
        "Bad amount,Z,,,12.345,new,A5\n"                                           # row 6 bad
        ",No title,,,,new,A6\n"                                                    # row 7 bad
        "Non fit,Q,,1-10,99,Non Fit,A7\n"                                          # row 8 ok
        "\n"
        "Dup,Q,,,,,A1\n"                                                           # row 10 dup
    )
    r = _import(client, world.admin_a, csv)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["created"] == 2 and body["updated"] == 0
    assert [e["row"] for e in body["errors"]] == [3, 4, 5, 6, 7, 10]
    errors = {e["row"]: e["error"] for e in body["errors"]}
    assert "contact_email" in errors[3]
    assert "expected 7 fields" in errors[4]
    assert "stage" in errors[5]
    assert "amount" in errors[6]
    assert "title" in errors[7]
    assert "repeats row 2" in errors[10]
    leads = {d["external_id"]: d for d in db[c.LEADS].find({"partner_id": world.partner_a})}
    assert set(leads) == {"A1", "A7"}  # nothing from the bad rows
    assert leads["A1"]["amount_cents"] == 123450
    assert leads["A7"]["stage"] == "non_fit" and leads["A7"]["status"] == "listed"
    assert leads["A1"]["source"] == "csv"


def test_reimport_updates_instead_of_duplicating(client, world, db):
    csv = HEADER + "Acme,Acme,,,100,new,X1\nBeta,Beta,,,200,new,X2\n"
    assert _import(client, world.admin_a, csv).json() == {"created": 2, "updated": 0, "errors": []}
    csv2 = HEADER + "Acme renamed,Acme,,,150,contacted,X1\nGamma,G,,,1,new,X3\n"
    assert _import(client, world.admin_a, csv2).json() == {"created": 1, "updated": 1, "errors": []}
    docs = {d["external_id"]: d for d in db[c.LEADS].find({"partner_id": world.partner_a})}
    assert len(docs) == 3
    assert docs["X1"]["title"] == "Acme renamed" and docs["X1"]["amount_cents"] == 15000
    assert docs["X1"]["stage"] == "contacted"


def test_sold_lead_is_not_changed_by_import(client, world, db):
    _import(client, world.admin_a, HEADER + "Acme,Acme,,,100,new,S1\n")
    doc = db[c.LEADS].find_one({"external_id": "S1"})
    db[c.LEADS].replace_one({"_id": doc["_id"]}, {**doc, "status": "sold"})
    r = _import(client, world.admin_a, HEADER + "Changed,Acme,,,100,new,S1\n").json()
    assert r["updated"] == 0 and r["errors"][0]["row"] == 2
    assert db[c.LEADS].find_one({"_id": doc["_id"]})["title"] == "Acme"


def test_wrong_header_is_400_and_writes_nothing(client, world, db):
    r = _import(client, world.admin_a, "name,email\nAcme,a@b.example.com\n")
    assert r.status_code == 400
    assert "missing title" in r.json()["detail"] and "unknown email, name" in r.json()["detail"]
    assert db[c.LEADS].find_one({"partner_id": world.partner_a}) is None


def test_empty_and_header_only_files_are_400(client, world):
    assert _import(client, world.admin_a, b"").status_code == 400
    assert _import(client, world.admin_a, b"  \n").status_code == 400
    r = _import(client, world.admin_a, HEADER)
    assert r.status_code == 400 and "no leads" in r.json()["detail"]


def test_not_utf8_is_400(client, world):
    r = _import(client, world.admin_a, "title\nCaf\xe9\n".encode("latin-1"))
    assert r.status_code == 400


def test_twenty_megabyte_file_is_413(client, world, db):
    row = "Lead,Company,,,100,new,\n"
    big = (HEADER + row * (20 * 1024 * 1024 // len(row) + 1)).encode()
    assert len(big) > 20 * 1024 * 1024
    r = _import(client, world.admin_a, big)
    assert r.status_code == 413
    assert "limit" in r.json()["detail"]
    assert db[c.LEADS].find_one({"partner_id": world.partner_a}) is None


def test_row_limit(settings, db, redis_conn, world):
    small = settings.model_copy(update={"import_max_rows": 3})
    with TestClient(create_app(small)) as client:
        r = _import(client, world.admin_a, HEADER + "a,,,,,,\n" * 4)
    assert r.status_code == 413


def test_user_cannot_import_and_owner_imports_for_a_partner(client, world, db):
    csv = HEADER + "Acme,Acme,,,100,new,O1\n"
    assert _import(client, world.user_a, csv).status_code == 403
    assert _import(client, world.admin_a, csv, partner_id=world.partner_b).status_code == 404
    r = _import(client, world.owner, csv, partner_id=world.partner_b)
    assert r.status_code == 200 and r.json()["created"] == 1
    assert db[c.LEADS].find_one({"external_id": "O1"})["partner_id"] == world.partner_b


def test_large_valid_import(client, world, db):
    rows = "".join(f"Lead {i},Co {i},l{i}@example.com,11-50,{i}.5,new,B{i}\n" for i in range(1500))
    r = _import(client, world.admin_a, HEADER + rows)
    assert r.json() == {"created": 1500, "updated": 0, "errors": []}
    page = client.get("/v1/leads", params={"limit": 200}, headers=world.user_a.headers).json()
    assert len(page["items"]) == 200 and page["next_cursor"]

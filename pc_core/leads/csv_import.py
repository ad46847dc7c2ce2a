"""CSV import of leads with a per-row error report.

Rules: the header must name known columns and include ``title``; every other row is
judged on its own. A bad row is reported (``{row, error}``, rows counted with the
header as row 1) and never stops the good ones. Each lead is written by a single
document operation, so a failed row leaves nothing half-written. Rows with an
``external_id`` are upserts: importing the same file twice updates, never duplicates.

polars does the column work (trimming, money parsing) over the whole file at once;
the per-row rules are the same pydantic model the API uses.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from pydantic import ValidationError
from pymongo import InsertOne
from pymongo.database import Database
from pymongo.errors import BulkWriteError

from pc_core import collections as c
from pc_core.errors import BadRequest, PayloadTooLarge
from pc_core.ids import new_id
from pc_core.journal.stage_events import PLATFORM, record_lead_change
from pc_core.leads.inventory import TRACKED_FIELDS, build_lead_doc, search_text
from pc_core.marketplace.known_contacts import contact_keys
from pc_core.marketplace.listings import announce_listed
from pc_core.models.leads import LeadFields
from pc_core.money import cents_expr
from pc_core.settings import Settings
from pc_core.stages import MANUAL_STATUSES, LeadStatus, Stage, status_for_new_stage
from pc_core.store import replace_if_unchanged
from pc_core.timeutil import utcnow

TEXT_COLUMNS = (
    "title", "company", "contact_name", "contact_email", "contact_phone",
    "company_size", "industry", "location", "stage", "external_id",
)
# Money columns are in currency units ("1234.50"); stored as integer cents.
MONEY_COLUMNS = {"budget": "budget_cents", "amount": "amount_cents", "price": "price_cents"}
KNOWN_COLUMNS = frozenset(TEXT_COLUMNS) | frozenset(MONEY_COLUMNS)
REQUIRED_COLUMNS = frozenset({"title"})
BATCH_SIZE = 100


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    # Leads the import put on the market (a non-fit stage lists a lead).
    listed: list[dict[str, Any]] = field(default_factory=list)

    def fail(self, row: int, error: str) -> None:
        self.errors.append({"row": row, "error": error})


def _split_records(text: str, max_rows: int) -> tuple[list[str], list[tuple[int, list[str]]]]:
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise BadRequest("the file is empty: expected a header row and at least one lead")
    except csv.Error as exc:
        raise BadRequest(f"the header row is not valid CSV: {exc}")
    records: list[tuple[int, list[str]]] = []
    row_number = 1
    while True:
        row_number += 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            records.append((row_number, [f"\x00{exc}"]))
            continue
        if not any(cell.strip() for cell in record):
            continue  # blank lines are not rows
        records.append((row_number, record))
        if len(records) > max_rows:
            raise PayloadTooLarge(f"too many rows: the limit is {max_rows} per file")
    return header, records


def _check_header(header: list[str]) -> list[str]:
    columns = [h.strip().lower() for h in header]
    unknown = sorted({col for col in columns if col not in KNOWN_COLUMNS})
    missing = sorted(REQUIRED_COLUMNS - set(columns))
    duplicated = sorted({col for col in columns if columns.count(col) > 1})
    if unknown or missing or duplicated:
        problems = []
        if missing:
            problems.append("missing " + ", ".join(missing))
        if unknown:
            problems.append("unknown " + ", ".join(unknown))
        if duplicated:
            problems.append("repeated " + ", ".join(duplicated))
        raise BadRequest(
            "wrong CSV header (" + "; ".join(problems) + "). Expected columns: "
            + ", ".join(sorted(KNOWN_COLUMNS)) + " (title required)"
        )
    return columns


def _frame(columns: list[str], rows: list[tuple[int, list[str]]]) -> pl.DataFrame:
    data: dict[str, list[Any]] = {"_row": [n for n, _ in rows]}
    for i, col in enumerate(columns):
        data[col] = [r[i] for _, r in rows]
    frame = pl.DataFrame(data, schema={"_row": pl.Int64, **dict.fromkeys(columns, pl.Utf8)})
    present_text = [col for col in TEXT_COLUMNS if col in columns]
    frame = frame.with_columns(
        [
            pl.col(col).str.strip_chars().replace("", None)
            for col in (*present_text, *[m for m in MONEY_COLUMNS if m in columns])
        ]
    )
    exprs = []
    for money, cents in MONEY_COLUMNS.items():
        if money in columns:
            exprs += [cents_expr(money).alias(cents), pl.col(money).alias(f"_raw_{money}")]
    if "stage" in columns:
        exprs.append(pl.col("stage").str.to_lowercase().str.replace_all(r"[\s-]+", "_"))
    return frame.with_columns(exprs) if exprs else frame


def _row_fields(row: dict[str, Any]) -> LeadFields:
    for money, cents in MONEY_COLUMNS.items():
        raw = row.pop(f"_raw_{money}", None)
        row.pop(money, None)
        if raw is not None and row.get(cents) is None:
            raise ValueError(f"{money}: '{raw}' is not an amount like 1234.50")
    values = {k: v for k, v in row.items() if v is not None and not k.startswith("_")}
    if values.get("stage") is None:
        values.pop("stage", None)
    return LeadFields.model_validate(values)


def _describe(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "row"
    return f"{where}: {first.get('msg', 'invalid')}"


def import_leads_csv(
    db: Database,
    partner_id: str,
    content: bytes,
    *,
    created_by: str | None,
    max_rows: int,
    settings: Settings | None = None,
) -> ImportReport:
    """``settings`` (for the live events and buyer alerts): leads the import lists
    are announced as any other listing."""
    if not content.strip():
        raise BadRequest("the file is empty: expected a header row and at least one lead")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequest("the file is not UTF-8 encoded CSV")
    header, records = _split_records(text, max_rows)
    columns = _check_header(header)
    if not records:
        raise BadRequest("the file has a header but no leads")

    report = ImportReport()
    good: list[tuple[int, list[str]]] = []
    for row_number, record in records:
        if record and record[0].startswith("\x00"):
            report.fail(row_number, f"malformed CSV: {record[0][1:]}")
        elif len(record) != len(columns):
            report.fail(
                row_number, f"expected {len(columns)} fields, found {len(record)}"
            )
        else:
            good.append((row_number, record))

    parsed: list[tuple[int, LeadFields]] = []
    seen_external: dict[str, int] = {}
    if good:
        for row in _frame(columns, good).iter_rows(named=True):
            row_number = row["_row"]
            try:
                fields = _row_fields(row)
            except ValidationError as exc:
                report.fail(row_number, _describe(exc))
                continue
            except ValueError as exc:
                report.fail(row_number, str(exc))
                continue
            if fields.external_id:
                first = seen_external.get(fields.external_id)
                if first is not None:
                    report.fail(row_number, f"external_id repeats row {first}")
                    continue
                seen_external[fields.external_id] = row_number
            parsed.append((row_number, fields))

    for start in range(0, len(parsed), BATCH_SIZE):
        _write_batch(db, partner_id, parsed[start : start + BATCH_SIZE], created_by, report)
    report.errors.sort(key=lambda e: e["row"])
    if settings is not None:
        announce_listed(db, settings, report.listed)
    return report


def lead_id_for_external(partner_id: str, external_id: str) -> str:
    """Natural key, so that re-importing the same row updates it."""
    return f"{partner_id}:ext:{external_id}"


def _write_batch(
    db: Database,
    partner_id: str,
    batch: list[tuple[int, LeadFields]],
    created_by: str | None,
    report: ImportReport,
) -> None:
    now = utcnow()
    ids = [
        lead_id_for_external(partner_id, f.external_id) if f.external_id else new_id()
        for _, f in batch
    ]
    existing = {d["_id"]: d for d in db[c.LEADS].find({"_id": {"$in": ids}})}
    inserts: list[InsertOne] = []
    insert_rows: list[int] = []
    insert_docs: list[dict[str, Any]] = []
    for (row_number, fields), lead_id in zip(batch, ids, strict=True):
        current = existing.get(lead_id)
        if current is None:
            doc = build_lead_doc(
                partner_id, fields, source="csv", now=now, lead_id=lead_id,
                created_by=created_by,
            )
            inserts.append(InsertOne(doc))
            insert_rows.append(row_number)
            insert_docs.append(doc)
        else:
            _update_existing(db, current, fields, now, row_number, report)
    if not inserts:
        return
    failed: set[int] = set()
    try:
        db[c.LEADS].bulk_write(inserts, ordered=False)
    except BulkWriteError as exc:
        failed = {err["index"] for err in exc.details.get("writeErrors", [])}
    for index, row_number in enumerate(insert_rows):
        if index in failed:
            report.fail(row_number, "the lead was created concurrently; retry the row")
        else:
            report.created += 1
            if insert_docs[index]["status"] == LeadStatus.LISTED.value:
                report.listed.append(insert_docs[index])


def _update_existing(
    db: Database,
    current: dict[str, Any],
    fields: LeadFields,
    now: Any,
    row_number: int,
    report: ImportReport,
) -> None:
    """Update one lead under compare-and-set, so a concurrent change is reported."""
    status = LeadStatus(current["status"])
    if status not in MANUAL_STATUSES:
        report.fail(row_number, f"lead is {status.value}; it cannot be changed by import")
        return
    values = fields.model_dump(mode="json")
    values["status"] = status_for_new_stage(Stage(values["stage"]), status).value
    changed = {k: v for k, v in values.items() if current.get(k) != v}
    times = {**current.get("field_times", {}), **{k: now for k in changed if k in TRACKED_FIELDS}}
    after = replace_if_unchanged(
        db[c.LEADS],
        current,
        {
            **values,
            "updated_at": now,
            "field_times": times,
            "search_text": search_text({**current, **values}),
            "match_keys": contact_keys({**current, **values}),
        },
    )
    if after is None:
        report.fail(row_number, "the lead changed during the import; retry the row")
    else:
        record_lead_change(db, current, after, PLATFORM, now)
        report.updated += 1
        if after["status"] == LeadStatus.LISTED.value != current["status"]:
            report.listed.append(after)

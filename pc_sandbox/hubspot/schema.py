"""HubSpot's built-in property definitions, default property lists and the default pipeline.

Kept as data so the CRM, search and properties modules agree on what exists: a property not
defined here (or created through the properties API) is "unknown" and simply absent from
answers, as at HubSpot.
"""

from __future__ import annotations

from typing import Any

#: Which property carries the last-modified time, per object type (search filters on it).
MODIFIED_PROP = {
    "contacts": "lastmodifieddate",
    "deals": "hs_lastmodifieddate",
    "notes": "hs_lastmodifieddate",
}
CREATED_PROP = {"contacts": "createdate", "deals": "createdate", "notes": "hs_createdate"}

#: Properties returned when a request names none (HubSpot's defaults).
DEFAULT_PROPS = {
    "contacts": [
        "createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname",
    ],
    "deals": [
        "amount", "closedate", "createdate", "dealname", "dealstage",
        "hs_lastmodifieddate", "hs_object_id", "pipeline",
    ],
    "notes": ["hs_createdate", "hs_lastmodifieddate", "hs_object_id"],
}

COMPANY_SIZES = ("1-10", "11-50", "51-200", "201-500", "501-1000", "1000+")
#: Industry values with the option labels HubSpot's portals show for them (HubSpot's own
#: industry list: "Hospital & Health Care", not a mechanical "Hospital health care").
INDUSTRY_LABELS: dict[str, str] = {
    "COMPUTER_SOFTWARE": "Computer Software",
    "MARKETING_AND_ADVERTISING": "Marketing and Advertising",
    "FINANCIAL_SERVICES": "Financial Services",
    "HOSPITAL_HEALTH_CARE": "Hospital & Health Care",
    "RETAIL": "Retail",
    "CONSTRUCTION": "Construction",
    "REAL_ESTATE": "Real Estate",
    "EDUCATION_MANAGEMENT": "Education Management",
    "LOGISTICS_AND_SUPPLY_CHAIN": "Logistics and Supply Chain",
    "MANUFACTURING": "Manufacturing",
    "INFORMATION_TECHNOLOGY_AND_SERVICES": "Information Technology and Services",
    "LEGAL_SERVICES": "Legal Services",
    "HOSPITALITY": "Hospitality",
    "RENEWABLES_ENVIRONMENT": "Renewables & Environment",
    "TELECOMMUNICATIONS": "Telecommunications",
}
INDUSTRIES = tuple(INDUSTRY_LABELS)


def _prop(
    name: str,
    label: str,
    type_: str = "string",
    field_type: str = "text",
    group: str = "contactinformation",
    options: list[str] | dict[str, str] | None = None,
    *,
    read_only: bool = False,
) -> dict[str, Any]:
    """A property definition in the shape of ``GET /crm/v3/properties/{type}/{name}``;
    ``options``: values (each its own label) or value → label."""
    labelled = options if isinstance(options, dict) else {o: o for o in options or []}
    return {
        "name": name,
        "label": label,
        "type": type_,
        "fieldType": field_type,
        "description": "",
        "groupName": group,
        "options": [
            {"label": label, "value": value, "displayOrder": i, "hidden": False,
             "description": ""}
            for i, (value, label) in enumerate(labelled.items())
        ],
        "displayOrder": -1,
        "calculated": False,
        "externalOptions": False,
        "hasUniqueValue": name == "hs_object_id",
        "hidden": False,
        "hubspotDefined": True,
        "modificationMetadata": {
            "archivable": not read_only,
            "readOnlyDefinition": True,
            "readOnlyValue": read_only,
        },
        "formField": not read_only,
        "createdAt": "2020-01-01T00:00:00.000Z",
        "updatedAt": "2020-01-01T00:00:00.000Z",
        "archived": False,
    }


_COMMON = [
    _prop("hs_object_id", "Record ID", "number", "number", read_only=True),
    # ids merged into this record, ";"-separated (HubSpot sets it on a merge)
    _prop("hs_merged_object_ids", "Merged record IDs", "enumeration", "checkbox",
          read_only=True),
]

BUILTIN_PROPERTIES: dict[str, dict[str, dict[str, Any]]] = {
    "contacts": {
        p["name"]: p
        for p in _COMMON
        + [
            _prop("createdate", "Create Date", "datetime", "date", read_only=True),
            _prop("lastmodifieddate", "Last Modified Date", "datetime", "date", read_only=True),
            _prop("firstname", "First Name"),
            _prop("lastname", "Last Name"),
            _prop("email", "Email"),
            _prop("company", "Company Name"),
            _prop("phone", "Phone Number", field_type="phonenumber"),
            _prop("jobtitle", "Job Title"),
            _prop("city", "City"),
            _prop("country", "Country/Region"),
            _prop("industry", "Industry"),
            _prop("numemployees", "Number of Employees", "enumeration", "select",
                  options=list(COMPANY_SIZES)),
            _prop("lifecyclestage", "Lifecycle Stage", "enumeration", "radio",
                  options=["subscriber", "lead", "marketingqualifiedlead",
                           "salesqualifiedlead", "opportunity", "customer"]),
            _prop("website", "Website URL"),
        ]
    },
    "deals": {
        p["name"]: p
        for p in _COMMON
        + [
            _prop("createdate", "Create Date", "datetime", "date", "dealinformation",
                  read_only=True),
            _prop("hs_lastmodifieddate", "Last Modified Date", "datetime", "date",
                  "dealinformation", read_only=True),
            _prop("dealname", "Deal Name", group="dealinformation"),
            _prop("amount", "Amount", "number", "number", "dealinformation"),
            _prop("dealstage", "Deal Stage", "enumeration", "radio", "dealinformation"),
            _prop("pipeline", "Pipeline", "enumeration", "select", "dealinformation"),
            _prop("closedate", "Close Date", "datetime", "date", "dealinformation"),
            _prop("dealtype", "Deal Type", "enumeration", "radio", "dealinformation",
                  options=["newbusiness", "existingbusiness"]),
            _prop("description", "Deal Description", field_type="textarea",
                  group="dealinformation"),
            _prop("hs_priority", "Priority", "enumeration", "select", "dealinformation",
                  options=["low", "medium", "high"]),
            _prop("company_name", "Company Name", group="dealinformation"),
            # an enumeration on deals (as on HubSpot's companies), with HubSpot's labels;
            # on contacts it stays free text, as at HubSpot
            _prop("industry", "Industry", "enumeration", "select", "dealinformation",
                  options=INDUSTRY_LABELS),
            _prop("company_size", "Company Size", "enumeration", "select", "dealinformation",
                  options=list(COMPANY_SIZES)),
            _prop("city", "City", group="dealinformation"),
            _prop("state", "State/Region", group="dealinformation"),
            _prop("country", "Country/Region", group="dealinformation"),
        ]
    },
    "notes": {
        p["name"]: p
        for p in _COMMON
        + [
            _prop("hs_createdate", "Created at", "datetime", "date", "engagement",
                  read_only=True),
            _prop("hs_lastmodifieddate", "Last Modified Date", "datetime", "date",
                  "engagement", read_only=True),
            _prop("hs_timestamp", "Activity date", "datetime", "date", "engagement"),
            _prop("hs_note_body", "Note body", field_type="html", group="engagement"),
            _prop("hubspot_owner_id", "Activity assigned to", group="engagement"),
        ]
    },
}

#: Values the server computes; writes to them are refused like HubSpot's READ_ONLY_VALUE.
READ_ONLY = {"hs_object_id", "hs_merged_object_ids", "createdate", "lastmodifieddate",
             "hs_lastmodifieddate", "hs_createdate"}

#: HubSpot's default deal pipeline, verbatim ids.
DEFAULT_PIPELINE_STAGES: list[tuple[str, str, str, bool]] = [
    ("appointmentscheduled", "Appointment Scheduled", "0.2", False),
    ("qualifiedtobuy", "Qualified To Buy", "0.4", False),
    ("presentationscheduled", "Presentation Scheduled", "0.6", False),
    ("decisionmakerboughtin", "Decision Maker Bought-In", "0.8", False),
    ("contractsent", "Contract Sent", "0.9", False),
    ("closedwon", "Closed Won", "1.0", True),
    ("closedlost", "Closed Lost", "0.0", True),
]

#: Custom pipelines the generator may add (label, stages (label, probability, closed)).
CUSTOM_PIPELINES: list[tuple[str, list[tuple[str, str, bool]]]] = [
    ("Partner Referrals", [
        ("New referral", "0.1", False), ("Contacted", "0.2", False),
        ("Meeting booked", "0.4", False), ("Meeting held", "0.5", False),
        ("Proposal sent", "0.7", False), ("Negotiation", "0.85", False),
        ("Won", "1.0", True), ("Lost", "0.0", True), ("Not a fit", "0.0", True),
    ]),
    ("Enterprise", [
        ("Discovery", "0.1", False), ("Demo", "0.3", False), ("Proposal", "0.6", False),
        ("Legal review", "0.8", False), ("Closed won", "1.0", True),
        ("Closed lost", "0.0", True),
    ]),
]


def stage(stage_id: str, label: str, order: int, probability: str, closed: bool,
          ts: str) -> dict[str, Any]:
    """A pipeline stage in ``/crm/v3/pipelines`` shape (metadata values are strings)."""
    return {
        "id": stage_id,
        "label": label,
        "displayOrder": order,
        "metadata": {"isClosed": "true" if closed else "false", "probability": probability},
        "createdAt": ts,
        "updatedAt": ts,
        "archived": False,
        "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
    }


def build_pipelines(portal_id: int, count: int, ts: str) -> list[dict[str, Any]]:
    """The default pipeline plus ``count - 1`` custom ones with numeric ids, as HubSpot makes."""
    pipelines = [{
        "id": "default",
        "label": "Sales Pipeline",
        "displayOrder": 0,
        "stages": [stage(s, lbl, i, p, c, ts)
                   for i, (s, lbl, p, c) in enumerate(DEFAULT_PIPELINE_STAGES)],
        "createdAt": ts, "updatedAt": ts, "archived": False,
    }]
    for n, (label, stages) in enumerate(CUSTOM_PIPELINES[: max(0, count - 1)], start=1):
        base = (portal_id % 100_000) * 1000 + n * 100
        pipelines.append({
            "id": str(700_000_000 + base),
            "label": label,
            "displayOrder": n,
            "stages": [stage(str(800_000_000 + base + i), lbl, i, p, c, ts)
                       for i, (lbl, p, c) in enumerate(stages)],
            "createdAt": ts, "updatedAt": ts, "archived": False,
        })
    return pipelines

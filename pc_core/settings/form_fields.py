"""Which of the ChiliPiper router's form fields carry what routing needs.

ChiliPiper's Custom Webhook sends the booker's answers in ``primaryGuestDataFields``
under the names the operator gave the router's form fields (``FirstName``,
``Email``, ``Company``, and custom ones such as ``Company_Size__c``). Those names
belong to the operator's router, not to any partner, so the mapping is one setting
(``PC_CHILIPIPER_FORM_FIELDS``, JSON ``{"criterion": ["FieldName", ...]}``): each
criterion takes the first listed field that has an answer. Names compare without
case, spaces, underscores or dashes ("Company Size" = ``company_size`` =
``CompanySize``). A criterion left out of the setting keeps its defaults below.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# criterion → form field names, first answered wins. The defaults cover ChiliPiper's
# standard fields (Salesforce lead names) and the usual custom ones.
DEFAULT_FORM_FIELDS: dict[str, list[str]] = {
    "first_name": ["FirstName", "first_name"],
    "last_name": ["LastName", "last_name"],
    "name": ["Name", "FullName"],
    "email": ["Email"],
    "phone": ["Phone", "MobilePhone"],
    "company": ["Company", "CompanyName"],
    "company_size": ["CompanySize", "Company_Size__c", "NumberOfEmployees", "Employees",
                     "EmployeeCount"],
    "budget": ["Budget", "Budget__c", "MonthlyBudget", "AnnualBudget"],
    "location": ["Country", "Location", "Country__c", "Region"],
    "industry": ["Industry", "Industry__c"],
}
CRITERIA = tuple(DEFAULT_FORM_FIELDS)


def field_key(name: str) -> str:
    """How a form field name is compared: "Company Size" == "company_size"."""
    return re.sub(r"[\s_\-]+", "", name).casefold()


def merged_form_fields(overrides: Mapping[str, list[str]] | None) -> dict[str, list[str]]:
    """The defaults with ``overrides`` replacing whole criteria; an unknown criterion is
    refused (a typo would otherwise silently route nothing)."""
    unknown = sorted(set(overrides or {}) - set(CRITERIA))
    if unknown:
        raise ValueError(f"unknown criteria {unknown}; known: {', '.join(CRITERIA)}")
    out = {k: list(v) for k, v in DEFAULT_FORM_FIELDS.items()}
    for criterion, names in (overrides or {}).items():
        cleaned = [n.strip() for n in names if n and n.strip()]
        if not cleaned:
            raise ValueError(f"{criterion}: give at least one form field name")
        out[criterion] = cleaned
    return out

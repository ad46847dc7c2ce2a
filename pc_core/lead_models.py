"""The lead models live in ``pc_core.models.leads``; this name stays for the
modules that import it."""

from pc_core.models.leads import (
    NOT_NULLABLE,
    CompanySize,
    LeadBase,
    LeadCreate,
    LeadFields,
    LeadOrigin,
    LeadUpdate,
)

__all__ = ["NOT_NULLABLE", "CompanySize", "LeadBase", "LeadCreate", "LeadFields",
           "LeadOrigin", "LeadUpdate"]

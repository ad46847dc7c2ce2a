"""Collection names, so a typo is an import error rather than an empty collection."""

USERS = "users"
REFRESH_TOKENS = "refresh_tokens"
REFRESH_FAMILIES = "refresh_families"
PARTNERS = "partners"
LEADS = "leads"
STAGE_MAPPINGS = "stage_mappings"
HUBSPOT_CONTACTS = "hubspot_contacts"
HUBSPOT_DEALS = "hubspot_deals"
# The labels a partner's CRM gives its enumeration values, one document per partner
# (pc_core/sync/value_labels.py).
CRM_VALUE_LABELS = "crm_value_labels"
RESERVATIONS = "reservations"
PURCHASES = "purchases"
INVOICES = "invoices"
MEETINGS = "meetings"
# Weighted round-robin state per meeting type (``chilipiper:{type}``) and leads routed
# per partner per month (``{partner}:{YYYY-MM}``), in one collection so that one update
# command records a pick (pc_core/meetings/round_robin.py). The state's earlier home,
# ``LEGACY_ROUTING_STATE``, is read until a meeting type's next pick writes it anew.
ROUTING_COUNTS = "routing_counts"
ROUTING_STATE = ROUTING_COUNTS
LEGACY_ROUTING_STATE = "routing_state"
WEBHOOK_EVENTS = "webhook_events"
SYNC_TASKS = "sync_tasks"
# Which worker holds which partner's share of the hot path, until when
# (pc_core/store/leases.py).
WORKER_LEASES = "worker_leases"
API_TOKENS = "api_tokens"
EMAILS = "emails"
RESERVATION_SLOTS = "reservation_slots"
STRIPE_EVENTS = "stripe_events"
# Pending-work collections: sold leads' deals in the buyer's portal
# (pc_core/hubspot/lead_build/deal_links.py), sales on their way to the buyer's CRM
# (pc_core/marketplace/deliveries.py), lead rebuilds asked for by a stage-mapping change
# (pc_core/hubspot/lead_build/rebuild_requests.py), and purchase events for Dagster
# (pc_core/journal/outbox.py).
DEAL_LINKS = "hubspot_deal_links"
CRM_DELIVERIES = "crm_deliveries"
LEAD_REBUILDS = "lead_rebuilds"
ASSET_OUTBOX = "asset_outbox"
# One document per change of a lead's stage or status (pc_core/journal/stage_events.py).
STAGE_EVENTS = "stage_events"
# Buyer alerts (pc_core/buyer_alerts): saved searches, one notice per (search, lead)
# (its ``_id``), and standing orders with their monthly fills
# (pc_core/marketplace/standing_orders.py).
SAVED_SEARCHES = "saved_searches"
SEARCH_NOTICES = "search_notices"
# One record per change of a saved search, read by every process's in-memory index
# (pc_core/buyer_alerts/search_index.py); kept a day.
SAVED_SEARCH_CHANGES = "saved_search_changes"
STANDING_ORDERS = "standing_orders"
STANDING_ORDER_FILLS = "standing_order_fills"
# Price guidance per market segment (pc_core/analytics/price_guidance.py), rebuilt daily.
PRICE_GUIDANCE = "price_guidance"
# Bad-lead returns, one per purchase (pc_core/returns/flow.py).
RETURNS = "returns"
# One audit record per erasure of a contact: who, when, how many; never the data
# (pc_core/governance/erasure.py).
ERASURES = "erasures"

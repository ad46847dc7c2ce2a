"""Lead analytics as pure functions (pc_core/analytics): the stage history a partner's
events and leads make, and the funnel figures of a small case computed by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from pc_core.analytics.checks import listing_leaks
from pc_core.analytics.funnel import Window, funnel_summary, funnel_table, purchases_frame
from pc_core.analytics.history import LEAD_SCHEMA, build_history, events_frame, mapping_frame
from pc_core.analytics.listings import listings_frame

H = 3_600_000
DAY0 = datetime(2026, 3, 2, tzinfo=UTC)
BASE = int(DAY0.timestamp() * 1000)
D = 24 * H


def _leads(*rows):
    return pl.DataFrame([dict(zip(("lead_id", "created_ms", "stage", "status", "hubspot"), r,
                                  strict=True)) for r in rows], schema=LEAD_SCHEMA)


def _ev(lead, kind, frm, to, at_ms, source="platform", **extra):
    return {"lead_id": lead, "kind": kind, "from_value": frm, "to_value": to, "at_ms": at_ms,
            "source": source, **extra}


@pytest.fixture
def case():
    """Three leads of partner p over three days:
    a: created day 0 (new), contacted at 04:00, won day 1 04:00 (HubSpot echoes the
       win an hour later); b: created day 0, lost at 10:00; c: created day 0 02:00,
       non_fit at 03:00 (so listed), reserved day 1 00:00, sold day 2 03:00.
    p sold c to q for 100.00 (+20.00 commission) and bought a lead from r on day 1
    for 50.00 (+10.00)."""
    leads = _leads(("a", BASE, "won", "open", False), ("b", BASE, "lost", "open", False),
                   ("c", BASE + 2 * H, "non_fit", "sold", False))
    events = events_frame([
        _ev("a", "stage", "new", "contacted", BASE + 4 * H),
        _ev("a", "stage", "contacted", "won", BASE + D + 4 * H),
        _ev("a", "stage", "contacted", "won", BASE + D + 5 * H, "hubspot_pull"),
        _ev("b", "stage", "new", "lost", BASE + 10 * H),
        _ev("c", "stage", "new", "non_fit", BASE + 3 * H),
        _ev("c", "status", "open", "listed", BASE + 3 * H),
        _ev("c", "status", "listed", "reserved", BASE + D, "marketplace"),
        _ev("c", "status", "reserved", "sold", BASE + 2 * D + 3 * H, "marketplace"),
    ])
    purchases = purchases_frame([
        {"purchase_id": "x", "lead_id": "c", "seller_partner_id": "p",
         "buyer_partner_id": "q", "price_cents": 10_000, "commission_cents": 2_000,
         "completed_ms": BASE + 2 * D + 3 * H},
        {"purchase_id": "y", "lead_id": "z", "seller_partner_id": "r",
         "buyer_partner_id": "p", "price_cents": 5_000, "commission_cents": 1_000,
         "completed_ms": BASE + D + 12 * H},
    ])
    return build_history("p", events, leads, mapping_frame({})), purchases


def test_history_is_one_clean_chain_per_lead(case):
    history, _ = case
    a = history.filter((pl.col("lead_id") == "a") & (pl.col("kind") == "stage")).sort("seq")
    # The creation row is added, the HubSpot echo of the win is not a second transition.
    assert a["to_value"].to_list() == ["new", "contacted", "won"]
    assert a["from_value"].to_list() == [None, "new", "contacted"]
    assert a["source"].to_list() == ["platform", "platform", "platform"]
    assert a["at"][0] == DAY0
    assert a["left_ms"].to_list() == [BASE + 4 * H, BASE + D + 4 * H, None]
    c_status = history.filter((pl.col("lead_id") == "c") & (pl.col("kind") == "status"))
    assert c_status.sort("seq")["to_value"].to_list() == ["open", "listed", "reserved", "sold"]
    # A lead with no status event at all still has its one status.
    assert history.filter((pl.col("lead_id") == "b") & (pl.col("kind") == "status"))[
        "to_value"].to_list() == ["open"]
    assert history.height == 3 + 2 + 2 + 1 + 1 + 4


def test_hubspot_events_take_the_current_stage_mapping():
    leads = _leads(("h", BASE, "proposal", "open", True))
    events = events_frame([
        _ev("h", "stage", None, "new", BASE, "hubspot_pull", hubspot_pipeline_id="p1",
            hubspot_stage_id="s0"),
        _ev("h", "stage", "new", "proposal", BASE + H, "hubspot_pull",
            hubspot_pipeline_id="p1", hubspot_stage_id="s1"),
        _ev("h", "stage", "proposal", None, BASE + 2 * H, "webhook",
            hubspot_pipeline_id="p1", hubspot_stage_id="unmapped"),
    ])
    # An admin since mapped s1 to negotiation; "unmapped" leaves the stage as it was.
    history = build_history("p", events, leads, mapping_frame({("p1", "s0"): "new",
                                                               ("p1", "s1"): "negotiation",
                                                               ("p1", "unmapped"): None}))
    stage = history.filter(pl.col("kind") == "stage").sort("seq")
    assert stage["to_value"].to_list() == ["new", "negotiation"]
    assert stage["hubspot_stage_id"].to_list() == ["s0", "s1"]


def test_daily_funnel_figures_computed_by_hand(case):
    history, purchases = case
    days = funnel_table(history, purchases, partner_id="p")
    assert days["day"].to_list() == [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)]
    d0, d1, d2 = days.rows(named=True)
    assert (d0["entered_new"], d0["entered_contacted"], d0["entered_lost"],
            d0["entered_non_fit"], d0["entered_won"]) == (3, 1, 1, 1, 0)
    assert d0["conversion_new"] == pytest.approx(1 / 3, abs=1e-4)  # only a moved on
    assert d0["conversion_contacted"] == 1.0  # a went on to won
    assert d0["median_hours_new"] == 4.0  # stays of 4 h (a), 10 h (b), 1 h (c)
    assert d0["win_rate"] == 0.0 and d0["listed"] == 1 and d0["listed_to_reserved"] == 1.0
    assert (d1["entered_won"], d1["win_rate"], d1["reserved"]) == (1, 1.0, 1)
    assert d1["median_hours_contacted"] == 24.0
    assert (d1["commission_paid_cents"], d1["purchases"], d1["revenue_cents"]) == (1000, 1, 0)
    assert (d2["sold"], d2["median_days_to_sell"], d2["revenue_cents"], d2["sales"]) == (
        1, 2.0, 10_000, 1)
    assert days["commission_earned_cents"].sum() == 0  # p is not the operator
    # Rows in any order (not as build_history groups them) give the same figures.
    shuffled = history.sample(fraction=1.0, shuffle=True, seed=3)
    assert funnel_table(shuffled, purchases, partner_id="p").equals(days)


def test_window_funnel_and_its_api_shape(case):
    history, purchases = case
    row = funnel_table(history, purchases, partner_id="p",
                       window=Window.days(date(2026, 3, 2), date(2026, 3, 4))).row(0, named=True)
    summary = funnel_summary(row)
    entered = {s["stage"]: s["entered"] for s in summary["stages"]}
    assert entered == {"new": 3, "contacted": 1, "meeting_scheduled": 0, "meeting_held": 0,
                       "proposal": 0, "negotiation": 0, "won": 1, "lost": 1, "non_fit": 1}
    assert summary["win_rate"] == 0.5
    assert summary["marketplace"] == {"listed": 1, "reserved": 1, "sold": 1,
                                      "listed_to_reserved": 1.0, "reserved_to_sold": 1.0,
                                      "median_days_to_sell": 2.0}
    assert summary["money"] == {"sales": 1, "purchases": 1, "revenue_cents": 10_000,
                                "commission_paid_cents": 1_000, "commission_earned_cents": 0}
    # Day 1 alone: only what happened that day.
    one = funnel_summary(funnel_table(history, purchases, partner_id="p",
                                      window=Window.days(date(2026, 3, 3), date(2026, 3, 3)))
                         .row(0, named=True))
    assert [s["entered"] for s in one["stages"] if s["stage"] == "won"] == [1]
    assert one["marketplace"]["listed"] == 0 and one["money"]["revenue_cents"] == 0
    # The operator earns the commission on every sale in the period.
    op = funnel_table(history, purchases, partner_id="p", is_operator=True,
                      window=Window.days(date(2026, 3, 2), date(2026, 3, 4))).row(0, named=True)
    assert op["commission_earned_cents"] == 3_000


def test_an_empty_period_answers_zeros():
    nothing = build_history("p", events_frame([]), _leads(), mapping_frame({}))
    empty = funnel_table(nothing, purchases_frame([]), partner_id="p",
                         window=Window.days(date(2026, 1, 1), date(2026, 1, 31)))
    summary = funnel_summary(empty.row(0, named=True))
    assert all(s["entered"] == 0 for s in summary["stages"])
    assert summary["win_rate"] is None and summary["money"]["revenue_cents"] == 0
    assert funnel_table(nothing, purchases_frame([]), partner_id="p").is_empty()


def _listing(**extra):
    return {"id": "l1", "own": False, "seller_partner_id": "p", "seller_name": "P",
            "seller_rating": None, "company_size": "51-200", "industry": "SaaS",
            "location": "US", "budget_cents": None, "stage": "non_fit", "age_days": 1,
            "created_at": DAY0, "price_cents": 100, "commission_cents": 20,
            "buyer_total_cents": 120, "currency": "usd", **extra}


def test_listing_leaks_are_found():
    contacts = {"l1": ["ada lovelace", "ada@acme.example.com", "acme corp"]}
    assert listing_leaks(listings_frame([_listing()]), contacts) == []
    leaked = listing_leaks(listings_frame([_listing(contact_email="ada@acme.example.com")]),
                           contacts)
    assert any("contact_email" in p for p in leaked)
    assert listing_leaks(listings_frame([_listing(location="call +1 555 010 0100")]), {})
    assert listing_leaks(listings_frame([_listing(location="mail ada@acme.example.com")]), {})
    in_value = listing_leaks(listings_frame([_listing(industry="SaaS (Ada Lovelace)")]),
                             contacts)
    assert in_value == ["listing l1: industry holds the lead's contact data"]

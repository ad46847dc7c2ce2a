"""The randomized HubSpot soak, small and with a fixed seed (the large one with random
seeds is ``bench/hubspot_soak_bench.py``): after random creates, updates, stage moves,
merges, restores, association changes (one deal with 150 contacts) and deletions
(past 200), dropped and repeated webhooks, 429 storms and search-index
lag, our leads equal the portal's truth."""

from __future__ import annotations

from pc_dev.hubspot_soak import SoakPlan, run_soak


def test_soak_ends_with_our_leads_equal_to_the_portal(db, settings, hubspot_host):
    hs_settings = settings.model_copy(update={"hubspot_base_url": hubspot_host})
    plan = SoakPlan(deals=400, contacts=150, mutations=400, rounds=8, seed=17, storm_size=3,
                    storm_rounds=0.4, search_lag_ms=1000)
    report = run_soak(db, hs_settings, plan)
    assert report.did["portal_bulk_deleted"] > 200
    assert report.did["webhooks_dropped"] > 0 and report.did["429_storms"] > 0
    assert report.did["webhook_applies"] > 0 and report.did["scheduled_pulls"] > 0
    assert report.did["portal_deal.merge"] > 0 and report.did["portal_deal.restore"] > 0
    assert report.did["portal_association_changes"] >= 150
    assert report.portal_deals > 0
    assert report.differences == 0, "\n".join(report.lines())
    assert report.portal_deals == report.our_deals

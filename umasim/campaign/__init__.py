"""Campaigns: `umasim explore` and `umasim fuzz` split into work units
that run in this process, on local worker processes or on a Dask
distributed cluster -- with the same findings wherever they run.

    from umasim.campaign import explore_campaign, fuzz_campaign
    cr = explore_campaign(scenario, "random", runs=100_000, jobs=2)
    cr = fuzz_campaign(2000, seed=1, cluster="tcp://10.0.0.1:8786")

One concern a module:

    units      a unit (a picklable value carrying its scenario, its
               parameters and the core's fingerprint) and run_unit
    plan       the units of a command (deterministic) and the merges
    cluster    where units run (LocalCluster, a Dask cluster, here) and
               the loop that hands them out
    progress   the client's one progress bar
    resume     the campaign's directory, and --resume
    commands   the two campaigns end to end, and what they print

Dask distributed is an optional extra (pip install 'umasim[cluster]');
only --jobs and --cluster need it.
"""

from umasim.campaign.commands import (CampaignResult, explore_campaign, explore_json,
                                      format_explore, format_fuzz, fuzz_campaign, fuzz_json)
from umasim.campaign.plan import DEFAULT_UNIT_SIZE, GUIDED_SHARDS, Plan, explore_plan, fuzz_plan
from umasim.campaign.units import Unit, fingerprint, run_unit

__all__ = ["explore_campaign", "fuzz_campaign", "CampaignResult", "explore_json", "fuzz_json",
           "format_explore", "format_fuzz", "Plan", "explore_plan", "fuzz_plan", "Unit",
           "run_unit", "fingerprint", "DEFAULT_UNIT_SIZE", "GUIDED_SHARDS"]

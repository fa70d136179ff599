"""Test configuration: the Hypothesis settings profile (issue 6).

UMASIM_HYPOTHESIS_PROFILE names it (ci, dev or deep, registered in
umasim.strategies); without it: ci when CI=true, dev otherwise.  ci is
derandomized with a modest max_examples and no example database; dev and
deep keep their examples in .hypothesis/.
"""

from umasim.strategies import load_profile

PROFILE = load_profile()

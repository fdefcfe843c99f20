"""Test-wide settings.

Hypothesis draws fresh examples on every run, which is how it finds bugs on a
developer's machine. CI sets HYPOTHESIS_PROFILE=ci: the same examples every
time (derandomize), so a red CI always means a change broke something.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

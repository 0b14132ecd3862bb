"""Property tests: hypothesis profiles, and the in-process moto fixtures of the unit tests.

``dev`` (default) explores; ``ci`` (chosen when ``CI`` is set, or with ``HYPOTHESIS_PROFILE=ci``)
is derandomised so a CI run is repeatable, with no example database and no deadline (moto's
speed varies with the machine).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# The in-process moto fixtures live with the unit tests; the property tests use them as they are.
from tests.unit.conftest import _reset_clock, aws_resources  # noqa: F401 - pytest fixtures

# Each example works on its own creator's wallet, so one moto per test serves every example.
_shared = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]}
settings.register_profile("dev", max_examples=20, **_shared)
settings.register_profile("ci", max_examples=15, derandomize=True, database=None, print_blob=True, **_shared)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))

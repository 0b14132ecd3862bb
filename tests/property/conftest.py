"""Property tests: hypothesis profiles (the in-process moto fixture comes from tests/fixtures/aws.py).

``dev`` (default) explores; ``ci`` (chosen when ``CI`` is set, or with ``HYPOTHESIS_PROFILE=ci``)
is derandomised so a CI run is repeatable, with no example database and no deadline (moto's
speed varies with the machine).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# Each example works on its own creator's wallet, so one moto per test serves every example.
_shared = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]}
settings.register_profile("dev", max_examples=20, **_shared)
settings.register_profile("ci", max_examples=15, derandomize=True, database=None, print_blob=True, **_shared)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))

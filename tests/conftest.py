"""Root fixtures: fake AWS credentials and a fixed local environment, never a real account."""

from __future__ import annotations

import os

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "JWT_SIGNING_KEY": "unit-test-signing-key-0123456789abcdef",
        "CURSOR_SIGNING_KEY": "unit-test-cursor-key-0123456789abcdef",
        "PAYSTACK_SECRET_KEY": "sk_test_local",
        "FLUTTERWAVE_SECRET_KEY": "FLWSECK_TEST-local",
        "FLUTTERWAVE_SECRET_HASH": "local-hash",
        "POWERTOOLS_SERVICE_NAME": "marketplace-tests",
        "POWERTOOLS_METRICS_NAMESPACE": "MarketplaceTests",
        "POWERTOOLS_DEV": "false",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)

# Fixtures every kind of test may ask for; each lives in tests/fixtures/.
pytest_plugins = ("tests.fixtures.aws", "tests.fixtures.stack", "tests.fixtures.passwords")

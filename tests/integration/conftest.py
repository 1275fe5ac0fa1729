"""Fixtures every integration test folder may use."""

from __future__ import annotations

import pytest

from tests.support.store_suite import BACKENDS, backend_database


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest) -> str | None:
    """A store suite's backend: the test database's URL, or None for the in-memory fakes."""
    return backend_database(request)

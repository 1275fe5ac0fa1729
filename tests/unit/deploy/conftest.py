from __future__ import annotations

import pytest

from deploy.local import stack
from tests.unit.deploy.promtool import MISSING, find_promtool


@pytest.fixture(scope="session")
def promtool() -> str:
    """promtool's path, installing Debian's prometheus package where it is missing."""
    found = find_promtool()
    if found is None:
        stack.install_prometheus()  # best effort, where apt is usable
        found = find_promtool()
    if found is None:
        pytest.fail(MISSING)
    return found

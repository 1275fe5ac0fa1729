from __future__ import annotations

from pathlib import Path

import pytest

from deploy.local import stack
from tests.unit.deploy import amtool as amtool_tool
from tests.unit.deploy import kubeconform as kubeconform_tool
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


@pytest.fixture(scope="session")
def amtool() -> str:
    """amtool's path, installing Debian's prometheus-alertmanager package where it is missing."""
    found = amtool_tool.find_amtool()
    if found is None:
        stack.install_alertmanager()  # best effort, where apt is usable
        found = amtool_tool.find_amtool()
    if found is None:
        pytest.fail(amtool_tool.MISSING)
    return found


@pytest.fixture(scope="session")
def kubeconform() -> str:
    """kubeconform's path, built with `go install` into .cache/ the first time."""
    error = kubeconform_tool.install()
    if error is not None:
        pytest.fail(f"{kubeconform_tool.MISSING}\n{error}")
    return str(kubeconform_tool.binary())


@pytest.fixture(scope="session")
def kubernetes_schemas() -> Path:
    """The Kubernetes JSON schemas (kubernetes-validate's), resolvable offline."""
    return kubeconform_tool.local_schemas()

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from deploy.local import stack
from tests.unit.deploy import kubeconform as kubeconform_tool
from tests.unit.deploy.tools import find, missing


def _installed(tool: str, install: Callable[[], object], package: str, release: str) -> str:
    found = find(tool)
    if found is None:
        install()  # best effort, where apt is usable
        found = find(tool)
    if found is None:
        pytest.fail(missing(tool, package, release))
    return found


# The local stack's profiles as a checkout at /repo renders them (nothing is started).
@pytest.fixture
def dev() -> stack.Profile:
    return stack.profiles(Path("/repo"))["dev"]


@pytest.fixture
def test_profile() -> stack.Profile:
    return stack.profiles(Path("/repo"))["test"]


@pytest.fixture(scope="session")
def promtool() -> str:
    """promtool's path, installing Debian's prometheus package where it is missing."""
    return _installed(
        "promtool", stack.install_prometheus, "prometheus", "a Prometheus 2.x release"
    )


@pytest.fixture(scope="session")
def amtool() -> str:
    """amtool's path, installing Debian's prometheus-alertmanager package where it is missing."""
    return _installed(
        "amtool", stack.install_alertmanager, "prometheus-alertmanager", "an Alertmanager release"
    )


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

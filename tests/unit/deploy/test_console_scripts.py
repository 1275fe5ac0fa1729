"""Every runnable package under services/ (one with a `__main__.py`) is a console script too
(`sentinel-<name>`), pointing at its `main`."""

from __future__ import annotations

import importlib
import tomllib

from tests.support.process import ROOT


def test_every_runnable_service_is_a_console_script() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    runnable = sorted(
        p.parent.name
        for p in (ROOT / "services").glob("*/__main__.py")
        if p.parent.name != "runtime"
    )
    assert "console" in runnable
    for name in runnable:
        target = scripts.get(f"sentinel-{name}")
        assert target == f"services.{name}.__main__:main", (name, target)
        module, func = target.split(":")
        assert callable(getattr(importlib.import_module(module), func))

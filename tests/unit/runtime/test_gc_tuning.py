"""A service process runs with the collector's youngest-generation threshold raised, from the
default or `SENTINEL_GC_GEN0_THRESHOLD`; a bad value stops it with the variable and the reason."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest

from services.runtime import app as runtime_app
from services.runtime.gc_tuning import GEN0_THRESHOLD, VARIABLE, gen0_threshold, tune_gc


@pytest.fixture(autouse=True)
def thresholds_restored() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)  # CPython 3.11's own, whatever the test process runs with
    yield before
    gc.set_threshold(*before)


def test_without_the_variable_the_default_is_set_and_the_older_generations_kept() -> None:
    assert tune_gc({}) == GEN0_THRESHOLD
    assert gc.get_threshold() == (GEN0_THRESHOLD, 10, 10)
    assert GEN0_THRESHOLD > 700


def test_the_variable_sets_it_and_blank_means_the_default() -> None:
    assert tune_gc({VARIABLE: " 5000 "}) == 5000
    assert gc.get_threshold()[0] == 5000
    assert gen0_threshold({VARIABLE: "  "}) == GEN0_THRESHOLD


@pytest.mark.parametrize(
    ("value", "reason"), [("lots", "not a whole number"), ("0", "at least 1"), ("-5", "at least 1")]
)
def test_a_bad_value_names_the_variable_and_the_reason_and_changes_nothing(
    value: str, reason: str
) -> None:
    with pytest.raises(SystemExit) as stopped:
        tune_gc({VARIABLE: value})
    assert VARIABLE in str(stopped.value) and reason in str(stopped.value)
    assert gc.get_threshold() == (700, 10, 10)


def test_the_process_entry_sets_it_before_serving(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[int, int, int]] = []

    class Server:
        def __init__(self, config: Any) -> None:
            self.started = False

        def run(self, sockets: Any = None) -> None:
            seen.append(gc.get_threshold())
            self.started = True

    monkeypatch.setattr(runtime_app.uvicorn, "Server", Server)
    monkeypatch.setenv(VARIABLE, "12345")
    runtime_app.serve(None)  # type: ignore[arg-type]
    assert seen == [(12345, 10, 10)]

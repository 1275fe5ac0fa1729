"""The intents of the readings-at-scale test (tests/integration/robustness/
test_readings_at_scale.py), drawn by hypothesis: what each reading is to be (its channel, its
terminal's slot, its defects and the values it is made of), turned into readings by the test.

Drawing them is ~12 s of CPU and depends on nothing the test starts, so the robustness folder's
conftest.py begins the draw in a process of its own as soon as the test is collected, and the
test awaits it (`drawn_intents`) only when it builds the readings; the seeded, derandomized draw
is the same wherever it runs."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from contracts.telemetry import INTERVAL_RANGE_S

# 336 hypothesis examples of 32 readings: 10,752 readings a run (ROBUSTNESS_EXAMPLES to vary).
EXAMPLES = int(os.environ.get("ROBUSTNESS_EXAMPLES", "336"))
PER_EXAMPLE = 32

# -- defects, in the order the service checks them (the test ranks them) ----------------------
UNPARSED = ("bad_json", "not_object")  # the payload is no JSON object
MODEL = (  # the contract model refuses it
    "missing_field",
    "extra_field",
    "wrong_type",
    "bad_sig_hex",
    "missing_sig",
    "bad_ts",
    "bad_kind",
    "negative_seq",
    "bad_interval",
)
PLACE = ("unknown_terminal", "retired_terminal")
SIGNATURE = ("wrong_key", "stale_key", "tampered", "impostor")
LATER = ("kind_mismatch", "replay", "future_ts", "out_of_range")  # of an authentic reading
DEFECTS: tuple[str, ...] = (*UNPARSED, *MODEL, *PLACE, *SIGNATURE, *LATER)

# -- what hypothesis draws: pure intents, turned into readings in send order -------------------
text = st.text(max_size=12)
intent = st.fixed_dictionaries(
    {
        "channel": st.sampled_from(("kafka", "ingest")),
        "slot": st.integers(0, 99),
        # About half the readings are valid; the others carry one defect or two.
        "defects": st.one_of(
            st.just(()),
            st.lists(st.sampled_from(DEFECTS), min_size=1, max_size=2, unique=True).map(tuple),
        ),
        "u": st.floats(0, 1),
        "counts": st.tuples(*(st.integers(0, 100_000),) * 3),
        "as_int": st.booleans(),
        "step": st.integers(1, 3),
        "back": st.integers(0, 4),
        "verbatim": st.booleans(),
        "age_s": st.integers(60, 30 * 86_400),
        "ahead_s": st.integers(900, 365 * 86_400),
        "ts_style": st.sampled_from(("Z", "z", "t", "+08:00", "-05:30", "ms", "us")),
        "interval": st.one_of(st.none(), st.integers(*INTERVAL_RANGE_S)),
        "pick": st.integers(0, 1000),
        "beyond": st.integers(1, 10**9),
        "text": text,
        "key": st.binary(min_size=32, max_size=32),
        "junk": st.binary(max_size=24),
        "bad_ts": st.one_of(
            st.sampled_from(
                (
                    "2026-05-01 08:00:00Z",
                    "2026-05-01T08:00:00",
                    "2026-02-30T08:00:00Z",
                    "2026-05-01T25:00:00Z",
                    "01/05/2026 08:00",
                    "1777622400",
                    "",
                    "now",
                )
            ),
            text.map(lambda t: f"x{t}"),
        ),
    }
)


def draw_intents(examples: int, per_example: int) -> list[dict[str, Any]]:
    """`examples` hypothesis examples of `per_example` intents each, deterministically (a fixed
    seed, derandomized): one list too large for one example's choice buffer, drawn in parts."""
    drawn: list[dict[str, Any]] = []

    @seed(20261124)
    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(intent, min_size=per_example, max_size=per_example))
    def collect(batch: list[dict[str, Any]]) -> None:
        drawn.extend(batch)

    collect()
    return drawn


_drawer: ProcessPoolExecutor | None = None
_drawing: Future[list[dict[str, Any]]] | None = None


def begin_drawing() -> None:
    """Start the draw in a process of its own (spawned, not forked: pytest's process runs event
    loops and Kafka clients' threads), once."""
    global _drawer, _drawing
    if _drawing is None:
        _drawer = ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("spawn")
        )
        _drawing = _drawer.submit(draw_intents, EXAMPLES, PER_EXAMPLE)


async def drawn_intents() -> list[dict[str, Any]]:
    """The draw begun by `begin_drawing`, or begun now when nothing began it."""
    begin_drawing()
    assert _drawing is not None
    return await asyncio.wrap_future(_drawing)


def stop_drawing() -> None:
    global _drawer, _drawing
    if _drawer is not None:
        _drawer.shutdown(wait=False, cancel_futures=True)
    _drawer = _drawing = None

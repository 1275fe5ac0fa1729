"""The fast path of verification in Rust: `native/`, built into the venv by `make setup`.

It does `_typed_accepted`'s work for a reading without the interpreter (decode the bytes, check
shape, types and ranges, parse the event time, look the terminal up, the canonical form and the
HMAC) and answers "accepted" or "no verdict", never "rejected": a reading it does not accept
goes `check`, the Python path, which alone names rejections. It is strictly narrower than the
Python fast path (tests/unit/telemetry/test_native_verification.py holds it to `check`), so the
verdicts, reasons and their order are those of services/telemetry/verification.py.

The seq is left to the caller: a batch's use case compares it with the terminal's last seq as
it goes, so readings of one terminal in one batch see the seqs accepted before them.
Measurements: bench/README.md, issue 20.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from services.telemetry.domain import Sample
from services.telemetry.projections import Directory, TerminalInfo
from services.telemetry.verification import Accepted

try:
    import sentinel_native
except ImportError:  # pragma: no cover - a venv that `make setup` has not built it into
    sentinel_native = None  # type: ignore[assignment]

# What the extension says of an accepted reading (seq aside): its terminal (the directory's
# own object), event time in epoch seconds, and sample.
Fast = tuple[TerminalInfo, float, Sample]


def available() -> bool:
    return sentinel_native is not None


class NativeVerifier:
    """The extension's `Verifier` on a directory: it reads `directory.terminals` at each
    judgement and keeps a terminal's prepared HMAC while the dict holds the same (frozen)
    `TerminalInfo`, so a change in the registry is seen at once."""

    __slots__ = ("_judge", "_judge_batch", "directory")

    def __init__(self, directory: Directory) -> None:
        if sentinel_native is None:
            raise RuntimeError("sentinel_native is not built: run `make setup`")
        verifier = sentinel_native.Verifier(directory.terminals, directory.key, Sample)
        self.directory = directory
        self._judge, self._judge_batch = verifier.judge, verifier.judge_batch

    def judge_batch(
        self, raws: Sequence[bytes], now: float, future_tolerance_s: float
    ) -> list[Fast | None]:
        """Each reading's `Fast` when accepted but for its seq, else None (no verdict)."""
        return self._judge_batch(list(raws), now + future_tolerance_s)

    def accepted(
        self,
        raw: bytes,
        last_seq: Callable[[str], int],
        now: float,
        future_tolerance_s: float,
    ) -> Accepted | None:
        """`Accepted` when the reading passes every check of `check`, else None: the native
        counterpart of `_typed_accepted`, one reading a call."""
        fast = self._judge(raw, now + future_tolerance_s)
        if fast is None:
            return None
        terminal, ts, sample = fast
        if sample.seq <= last_seq(terminal.id):
            return None
        return Accepted(terminal, ts, sample=sample, raw=raw)

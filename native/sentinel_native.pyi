# Types of the extension built from native/src/lib.rs (maturin ships this file in the wheel).
from collections.abc import Callable
from typing import Any

class Verifier:
    def __init__(
        self,
        terminals: dict[str, Any],
        key: Callable[[Any], bytes],
        sample: type[Any],
    ) -> None: ...
    def judge(self, raw: bytes, limit: float) -> tuple[Any, float, Any] | None: ...
    def judge_batch(
        self, raws: list[bytes], limit: float
    ) -> list[tuple[Any, float, Any] | None]: ...

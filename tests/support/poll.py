"""Waiting on a condition with a deadline: the tests' only way to wait for asynchronous effects."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def until(
    check: Callable[[], T | Awaitable[T]],
    *,
    within: float = 30.0,
    every: float = 0.05,
    what: str = "",
) -> T:
    """Return the first truthy result of `check`, or fail after `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result  # type: ignore[return-value]
        if loop.time() > deadline:
            raise TimeoutError(f"not within {within}s: {what or check}")
        await asyncio.sleep(every)

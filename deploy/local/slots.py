"""Port slots: the test (and secure) stacks of two checkouts on one machine never share a port.

A slotted profile's ports are its slot-0 ports plus `SLOT_STEP` for each slot above 0. The slot a
checkout's profile uses is recorded in `<state>/slot`; a machine-wide folder holds one claim file
per slot (`<kind>-<n>`) naming the state folder that holds it. Claims are read and written under
an flock on that folder's `.lock`, so two `up`s never take the same slot. `down` gives the slot
back. A claim whose state folder is gone (the checkout was deleted) or now records another slot
is stale and may be taken. See docs/local-stack.md.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

SLOT_COUNT = 8
# Ten ports apart, eight slots: the test profile's highest (Kafka's controller, 29093 + 70) stays
# below 30000, where tests/support/process.py picks its free ports, and the slots of one port
# never reach another's slot 0 (Keycloak's management port 29000 + 70 < Kafka's 29092).
SLOT_STEP = 10
# Machine-wide, for every account's checkouts; _safe_directory and O_NOFOLLOW keep another
# account from planting links or files there that this one would write through.
SLOTS_DIR = Path(os.environ.get("SENTINEL_SLOTS_DIR", "/tmp/market-sentinel-slots"))  # noqa: S108


class SlotError(RuntimeError):
    pass


def read_slot(state: Path) -> int | None:
    """The slot recorded in a state folder, or None (never claimed: it runs on slot 0's ports)."""
    try:
        text = (state / "slot").read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() and int(text) < SLOT_COUNT else None


def write_slot(state: Path, slot: int) -> None:
    state.mkdir(parents=True, exist_ok=True)
    tmp = state / "slot.tmp"
    tmp.write_text(f"{slot}\n")
    tmp.replace(state / "slot")


def claim_is_stale(owner: str, slot: int) -> bool:
    """The owner's checkout is gone, or it moved to another slot. When its folder cannot be
    looked at (another user's home), the claim stands."""
    state = Path(owner)
    try:
        if not state.exists():
            return True
        recorded = (state / "slot").read_text().strip()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return recorded != str(slot)


def choose_slot(
    claims: Mapping[int, str],
    me: str,
    preferred: int | None,
    usable: Callable[[int], bool],
    stale: Callable[[str, int], bool] = claim_is_stale,
    count: int = SLOT_COUNT,
    pinned: bool = False,
) -> int:
    """The slot for the state folder `me`.

    Its own claim first; else `preferred` (the slot it used last), then the lowest slot that
    is unclaimed (or stale) and `usable` (its ports free). `pinned`: the stack already runs on
    `preferred`'s ports, so only that slot will do.
    """
    for slot, owner in sorted(claims.items()):
        if owner == me:
            return slot
    first = preferred if preferred is not None else 0

    def free(slot: int) -> bool:
        owner = claims.get(slot)
        return not owner or stale(owner, slot)

    if pinned:
        if free(first):
            return first
        raise SlotError(
            f"this stack runs on the ports of slot {first}, which {claims[first]} claims; "
            "run `down` here and `up` again"
        )
    order = [first, *(n for n in range(count) if n != first)]
    for slot in order:
        if free(slot) and usable(slot):
            return slot
    taken = ", ".join(f"{n}: {claims.get(n) or 'ports in use'}" for n in range(count))
    raise SlotError(
        f"all {count} port slots are taken ({taken}); run `make down` in a checkout you no "
        "longer need"
    )


class Slots:
    """The machine-wide claims of one kind of profile (`test`, `secure`)."""

    def __init__(self, kind: str, directory: Path = SLOTS_DIR) -> None:
        self.kind = kind
        self.directory = directory

    def _file(self, slot: int) -> Path:
        return self.directory / f"{self.kind}-{slot}"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if not self.directory.exists():
            self.directory.mkdir(parents=True, exist_ok=True)
            # Every account's checkouts share the slots: world-writable and sticky, like /tmp.
            with contextlib.suppress(OSError):
                self.directory.chmod(0o1777)
        _safe_directory(self.directory)
        fd = _open_shared(self.directory / ".lock")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def claims(self) -> dict[int, str]:
        found = {}
        for slot in range(SLOT_COUNT):
            try:
                owner = self._file(slot).read_text().strip()
            except OSError:
                continue
            if owner:
                found[slot] = owner
        return found

    def claim(
        self,
        state: Path,
        preferred: int | None,
        usable: Callable[[int], bool],
        pinned: bool = False,
    ) -> int:
        """Take a slot for `state` (its own if it has one) and record it in `<state>/slot`."""
        me = str(state)
        with self._locked():
            slot = choose_slot(self.claims(), me, preferred, usable, pinned=pinned)
            _write_shared(self._file(slot), me + "\n")
            write_slot(state, slot)
        return slot

    def release(self, state: Path) -> int | None:
        """Give back the slot `state` holds; returns it (None when it held none)."""
        if not self.directory.exists():
            return None
        with self._locked():
            for slot, owner in self.claims().items():
                if owner == str(state):
                    # Emptied, not removed: in a sticky folder only its creator could remove it.
                    _write_shared(self._file(slot), "")
                    return slot
        return None


def _safe_directory(path: Path) -> None:
    """Owned by root or this account, and sticky if others may write there: else another
    account could replace the claim files."""
    info = os.lstat(path)
    owners = {0, os.geteuid()}
    others_write = info.st_mode & 0o022
    if (
        not stat.S_ISDIR(info.st_mode)
        or info.st_uid not in owners
        or (others_write and not info.st_mode & stat.S_ISVTX)
    ):
        raise SlotError(
            f"{path} is not a folder of root's or this account's (sticky where shared); "
            "remove it, or set SENTINEL_SLOTS_DIR to another folder"
        )


def _open_shared(path: Path) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o666)
    with contextlib.suppress(OSError):
        os.fchmod(fd, 0o666)  # past the umask: another account takes over a stale claim
    return fd


def _write_shared(path: Path, text: str) -> None:
    fd = _open_shared(path)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, text.encode())
    finally:
        os.close(fd)

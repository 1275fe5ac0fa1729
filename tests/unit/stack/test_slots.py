"""Port slots (deploy/local/slots.py): two checkouts' test stacks never share a port."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from deploy.local import slots, stack
from deploy.local.slots import SlotError, Slots, choose_slot


def never_stale(_owner: str, _slot: int) -> bool:
    return False


def all_usable(_slot: int) -> bool:
    return True


# --- the choice (pure) ------------------------------------------------------------------------
def test_a_state_keeps_the_slot_it_claimed() -> None:
    claims = {0: "/a/.run/test", 3: "/b/.run/test"}
    assert choose_slot(claims, "/b/.run/test", None, all_usable, never_stale) == 3


def test_the_lowest_free_slot_is_taken_first() -> None:
    claims = {0: "/a/.run/test", 1: "/b/.run/test"}
    assert choose_slot(claims, "/c/.run/test", None, all_usable, never_stale) == 2


def test_the_slot_used_last_is_preferred_while_free() -> None:
    assert choose_slot({0: "/a/.run/test"}, "/c/.run/test", 5, all_usable, never_stale) == 5
    taken = {5: "/a/.run/test"}
    assert choose_slot(taken, "/c/.run/test", 5, all_usable, never_stale) == 0


def test_a_slot_whose_ports_are_in_use_is_skipped() -> None:
    """Ports held by something without a claim (a stack of an older checkout) count as taken."""
    assert choose_slot({}, "/c/.run/test", None, lambda n: n >= 2, never_stale) == 2


def test_a_stale_claim_is_taken_over() -> None:
    claims = {0: "/deleted/.run/test"}
    stale = {"/deleted/.run/test"}
    chosen = choose_slot(claims, "/c/.run/test", None, all_usable, lambda o, _n: o in stale)
    assert chosen == 0


def test_a_running_stack_stays_on_its_ports() -> None:
    """A stack that runs (started before slots were recorded) keeps slot 0, ports in use or not."""
    assert choose_slot({}, "/c/.run/test", None, lambda _n: False, never_stale, pinned=True) == 0
    with pytest.raises(SlotError, match="slot 0"):
        choose_slot({0: "/a/.run/test"}, "/c/.run/test", None, all_usable, never_stale, pinned=True)


def test_all_slots_taken_says_what_to_do() -> None:
    claims = {n: f"/{n}/.run/test" for n in range(slots.SLOT_COUNT)}
    with pytest.raises(SlotError, match="make down"):
        choose_slot(claims, "/c/.run/test", None, all_usable, never_stale)


# --- slots and profiles' ports ----------------------------------------------------------------
def test_slot_zero_keeps_the_documented_ports_and_dev_has_no_slot(tmp_path: Path) -> None:
    found = stack.profiles(tmp_path)
    assert found["dev"].slot is None
    assert (found["test"].slot, found["test"].kafka_port, found["test"].postgres_port) == (
        0,
        29092,
        25432,
    )
    with pytest.raises(ValueError):
        found["dev"].at_slot(1)


def test_profiles_read_the_slot_their_state_records(tmp_path: Path) -> None:
    slots.write_slot(tmp_path / ".run" / "test", 3)
    test = stack.profiles(tmp_path)["test"]
    assert test.slot == 3
    assert test.bootstrap == "127.0.0.1:29122"
    assert test.database_url == "postgresql://postgres@127.0.0.1:25462/postgres"
    assert (test.keycloak_port, test.keycloak_management_port) == (28210, 29030)
    assert stack.profiles(tmp_path)["secure"].kafka_port == 21092  # its own slot, still 0


def test_no_two_slots_or_profiles_share_a_port(tmp_path: Path) -> None:
    found = stack.profiles(tmp_path)
    dev = set(found["dev"].ports()) | {8100, *stack.SERVICE_PORTS.values()}
    seen: set[int] = set()
    for name in ("test", "secure", "cluster"):
        for n in range(slots.SLOT_COUNT):
            ports = found[name].at_slot(n).ports()
            assert not seen & set(ports) and not dev & set(ports), (name, n)
            seen |= set(ports)
    # tests/support/process.py picks free ports from 30000 up
    assert max(seen) < 30000


# --- claims on disk ---------------------------------------------------------------------------
def test_two_checkouts_get_two_slots_and_down_gives_them_back(tmp_path: Path) -> None:
    registry = Slots("test", tmp_path / "slots")
    a, b = tmp_path / "a" / ".run" / "test", tmp_path / "b" / ".run" / "test"
    assert registry.claim(a, None, all_usable) == 0
    assert registry.claim(b, None, all_usable) == 1
    assert registry.claim(a, None, all_usable) == 0  # again: its own
    assert slots.read_slot(a) == 0 and slots.read_slot(b) == 1
    assert registry.release(a) == 0
    assert registry.claims() == {1: str(b)}
    assert registry.claim(b, None, all_usable) == 1


def test_a_deleted_checkouts_claim_is_stale(tmp_path: Path) -> None:
    registry = Slots("test", tmp_path / "slots")
    gone = tmp_path / "gone" / ".run" / "test"
    registry.claim(gone, None, all_usable)
    moved = tmp_path / "moved" / ".run" / "test"
    assert registry.claim(moved, None, all_usable) == 1
    slots.write_slot(moved, 4)  # it records another slot now
    gone_state = gone.parent.parent
    for path in sorted(gone_state.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    assert slots.claim_is_stale(str(gone), 0)
    assert slots.claim_is_stale(str(moved), 1)
    assert not slots.claim_is_stale(str(moved), 4)
    new = tmp_path / "new" / ".run" / "test"
    assert registry.claim(new, None, all_usable) == 0


def test_test_and_secure_claims_are_apart(tmp_path: Path) -> None:
    state = tmp_path / "a" / ".run"
    assert Slots("test", tmp_path / "s").claim(state / "test", None, all_usable) == 0
    assert Slots("secure", tmp_path / "s").claim(state / "secure", None, all_usable) == 0


def _claim_in_a_process(directory: str, state: str, out: multiprocessing.Queue[int]) -> None:
    out.put(Slots("test", Path(directory)).claim(Path(state), None, all_usable))


def test_concurrent_claims_never_get_one_slot(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    out: multiprocessing.Queue[int] = context.Queue()
    states = [str(tmp_path / f"c{n}" / ".run" / "test") for n in range(6)]
    procs = [
        context.Process(target=_claim_in_a_process, args=(str(tmp_path / "slots"), s, out))
        for s in states
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(30)
    got = sorted(out.get(timeout=5) for _ in states)
    assert got == list(range(6))


def test_a_planted_link_is_never_written_through(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    directory = tmp_path / "slots"
    directory.mkdir()
    (directory / "test-0").symlink_to(victim)
    with pytest.raises(OSError):
        Slots("test", directory).claim(tmp_path / "a" / ".run" / "test", None, all_usable)
    assert victim.read_text() == "precious\n"

"""信用主体: a merchant's credit is its business's (统一社会信用代码), whichever registration an
entry was recorded at — a merchant who left and registered again, one business at two stalls
(services/credit/domain/ledger.py, docs/rules.md). The use cases on fakes, reached the way
Kafka and HTTP reach them."""

from __future__ import annotations

from typing import Any

import pytest

from services.credit import handlers
from services.runtime.failures import Conflict
from services.runtime.outbox import outgoing
from tests.support import credit_events as samples
from tests.unit.credit.test_objections import CLERK
from tests.unit.credit.test_service import T0, World, code_of, registered, world_with

D = samples.D
BUSINESS = code_of("mer_1")


def completed(merchant_id: str, outcome: str = "major", task_id: str = "tsk_1") -> Any:
    data = samples.task_completed(outcome, triggers=[], merchant_id=merchant_id)
    data = data.model_copy(update={"task_id": task_id})
    return outgoing("inspection", "inspection.task.completed", task_id, data)


def announced(world: World) -> list[tuple[str, int, str, str]]:
    """(merchant, score, grade, the kind of entry that moved it) of each score announced."""
    return [
        (key, e.data.score, e.data.grade, e.data.adjustment.kind)
        for _, e, key in world.uow.published
        if e.type == "credit.score.changed"
    ]


async def scores(world: World) -> dict[str, tuple[int, str]]:
    return await world.stores.ledger.scores()


async def test_a_merchant_registered_again_starts_where_its_business_left_off() -> None:
    world = world_with()
    merchants = world.merchants()
    await world.send(merchants, registered(version=2))
    await world.send(handlers.inspection_router(world.credit), completed("mer_1"))
    await world.send(merchants, registered(version=3, status="left"))
    assert (await scores(world))["mer_1"] == (85, "B")
    before = len(world.uow.published)

    # The same 统一社会信用代码 registered again, at another market: not a clean 100 A.
    await world.send(
        merchants,
        registered(merchant_id="mer_2", credit_code=BUSINESS, market_id="mkt_2"),
    )
    assert (await scores(world))["mer_2"] == (85, "B")
    [first] = world.uow.published[before:]
    assert first[2] == "mer_2" and first[1].data.previous_score is None
    assert first[1].data.adjustment.kind == "merchant.registered"
    assert first[1].data.market_id == "mkt_2"
    # Another business registered the same day starts clean.
    await world.send(merchants, registered(merchant_id="mer_3", market_id="mkt_2"))
    assert (await scores(world))["mer_3"] == (100, "A")

    # The new registration's page shows the entry where it was recorded; it is disputed there.
    explained = await world.credit.explain(CLERK, "mer_2")
    assert explained["score"] == 85
    [major] = [e for e in explained["ledger"] if e["kind"] == "inspection.finding.major"]
    assert major["merchant_id"] == "mer_1" and major["another_registration"]
    assert not major["disputable"] and not major["repairable"]
    [own] = [e for e in explained["ledger"] if e["merchant_id"] == "mer_2"]
    assert own["kind"] == "merchant.registered" and not own["another_registration"]
    types = world.types()
    with pytest.raises(Conflict, match="another registration of the same business") as there:
        await world.credit.file_objection(
            CLERK, "mer_2", major["event_id"], major["kind"], "不是我们的问题"
        )
    assert there.value.errors[0]["field"] == "event_id" and world.types() == types
    mine = await world.credit.explain(CLERK, "mer_1")
    [major] = [e for e in mine["ledger"] if e["kind"] == "inspection.finding.major"]
    assert major["disputable"] and not major["another_registration"]


async def test_one_business_at_two_stalls_shares_one_score_each_in_its_own_market() -> None:
    world = world_with()
    merchants = world.merchants()
    await world.send(merchants, registered(version=2))
    await world.send(
        merchants, registered(merchant_id="mer_2", credit_code=BUSINESS, market_id="mkt_2")
    )
    await world.send(merchants, registered(merchant_id="mer_3"))
    before = len(world.uow.published)
    await world.send(handlers.inspection_router(world.credit), completed("mer_1"))
    moved = announced(world)[before:]
    assert sorted(moved) == [
        ("mer_1", 85, "B", "inspection.finding.major"),
        ("mer_2", 85, "B", "inspection.finding.major"),
    ]
    assert await scores(world) == {"mer_1": (85, "B"), "mer_2": (85, "B"), "mer_3": (100, "A")}
    # Each stays in its own market: the entry is mer_1's, the score both's.
    assert (await world.stores.ledger.credit("mer_2")).market_id == "mkt_2"  # type: ignore[union-attr]
    shared = await world.stores.ledger.ledger("mer_2")
    assert shared == await world.stores.ledger.ledger("mer_1")
    assert sorted((a.merchant_id, a.kind) for a in shared) == [
        ("mer_1", "inspection.finding.major"),
        ("mer_1", "merchant.registered"),
        ("mer_2", "merchant.registered"),
    ]

    # A year on the finding fades for both.
    world.clock.at = T0 + 400 * D
    assert await world.credit.check_fades() == 2
    assert await scores(world) == {"mer_1": (100, "A"), "mer_2": (100, "A"), "mer_3": (100, "A")}


async def test_a_corrected_credit_code_moves_the_merchant_to_its_own_business() -> None:
    world = world_with()
    merchants = world.merchants()
    await world.send(merchants, registered(version=2))
    await world.send(merchants, registered(merchant_id="mer_2", credit_code=BUSINESS))
    await world.send(handlers.inspection_router(world.credit), completed("mer_1"))
    assert (await scores(world))["mer_2"] == (85, "B")
    before = len(world.uow.published)

    # The clerk typed mer_1's code for mer_2 by mistake; corrected, mer_2 is a business of its own.
    corrected = registered(version=3, merchant_id="mer_2", credit_code=code_of("mer_2"))
    await world.send(merchants, corrected)
    assert await scores(world) == {"mer_1": (85, "B"), "mer_2": (100, "A")}
    assert announced(world)[before:] == [("mer_2", 100, "A", "merchant.credit_code")]
    own = {a.kind: a for a in await world.stores.ledger.ledger("mer_2")}
    assert sorted(own) == ["merchant.credit_code", "merchant.registered"]
    entry = own["merchant.credit_code"]
    assert entry.delta == 0 and f"{BUSINESS} → {code_of('mer_2')}" in entry.reason

    # And back: the code corrected to mer_1's again joins the two, and the one left regrades.
    again = registered(version=4, merchant_id="mer_2", credit_code=BUSINESS)
    await world.send(merchants, again)
    assert await scores(world) == {"mer_1": (85, "B"), "mer_2": (85, "B")}

"""信用异议 on real Kafka, Postgres and the identity provider: a clerk records the merchant's
objection to a major finding, another clerk corrects the record (a leader may not), and the
score comes back once credit reads the decision from `credit.objections.v1`; every refusal
names its field and changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from contracts import topics
from tests.integration.credit.conftest import Stack, completed, ledger, registered, score_of
from tests.support import identity
from tests.support.city import Place
from tests.support.kafka import TopicWatcher
from tests.support.poll import until

SCORES = topics.CREDIT_SCORES.name
OBJECTIONS = topics.CREDIT_OBJECTIONS.name


class Found(NamedTuple):
    place: Place
    clerk: dict[str, str]
    leader: dict[str, str]
    ledger: list[dict[str, Any]]


def fields(r: Any) -> list[str]:
    return [e["field"] for e in r.json()["errors"]]


async def test_a_corrected_record_gives_the_merchant_its_credit_back(
    stack: Stack, kafka: str
) -> None:
    place = await registered(stack, kafka)
    clerk, leader = stack.token("clerk", place.district), stack.token("leader", place.district)
    other = identity.bearer("clerk", place.district, who="second")
    event = completed(place, "major")
    async with TopicWatcher(kafka, SCORES) as scores:
        await stack.send(topics.INSPECTION_EVENTS.name, event, event.subject)
        await scores.wait_for(score_of(place.merchant_id, score=85, grade="B"))
    [_, finding] = await ledger(stack, place)
    assert finding["kind"] == "inspection.finding.major" and finding["objection"] is None

    path = f"/merchants/{place.merchant_id}/objections"
    asked = {"event_id": finding["event_id"], "kind": finding["kind"]}
    async with TopicWatcher(kafka, OBJECTIONS) as objections:
        r = await stack.credit.post(
            path, json=asked | {"statement": "电子秤有检定证书"}, headers=clerk
        )
        assert r.status_code == 201, r.text
        objection = r.json()
        [filed] = await objections.wait_for(
            lambda rec: rec.json()["data"]["objection_id"] == objection["objection_id"]
        )
    assert filed.key == place.merchant_id.encode()
    assert filed.json()["correlationid"] == event.correlationid
    # Due at the end of the 10th working day; the event carries the same moment.
    due = datetime.fromisoformat(objection["due_at"])
    assert datetime.fromisoformat(filed.json()["data"]["due_at"]) == due
    assert objection["working_days_left"] == 10 and not objection["overdue"]
    assert (
        timedelta(days=11)
        < due - datetime.fromisoformat(objection["filed_at"])
        < timedelta(days=40)
    )
    overdue = await stack.credit.get("/objections", params={"overdue": "true"}, headers=leader)
    assert overdue.status_code == 200 and overdue.json()["items"] == []

    # Counted for the metrics soon after the filing, in the background.
    series = f'sentinel_credit_objections_open{{district="{place.district}",overdue="false"}}'

    async def counted(n: int) -> bool:
        return f"{series} {n:.1f}" in (await stack.credit.get("/metrics")).text

    await until(lambda: counted(1), within=10, what="the open objection counted")
    again = await stack.credit.post(path, json=asked | {"statement": "再诉"}, headers=clerk)
    assert again.status_code == 409 and fields(again) == ["event_id"]

    decision = f"/objections/{objection['objection_id']}/decision"
    corrected = {"decision": "corrected", "reasoning": "检定证书属实，记录有误"}
    for refused in (clerk, leader):  # the one who recorded it; a leader, who changes nothing
        r = await stack.credit.post(decision, json=corrected, headers=refused)
        assert r.status_code == 403, r.text
    async with TopicWatcher(kafka, SCORES) as scores:
        r = await stack.credit.post(decision, json=corrected, headers=other)
        assert r.status_code == 200, r.text
        [back] = await scores.wait_for(score_of(place.merchant_id, score=100, grade="A"))
    assert back.json()["data"]["adjustment"]["kind"] == "objection.corrected"
    entries = {e["kind"]: e for e in await ledger(stack, place)}
    assert entries["objection.corrected"]["delta"] == 15
    assert entries["objection.corrected"]["fades_at"] == finding["fades_at"]
    assert entries["inspection.finding.major"]["objection"]["state"] == "corrected"
    await until(lambda: counted(0), within=10, what="the decided objection no longer counted")
    twice = await stack.credit.post(decision, json=corrected, headers=other)
    assert twice.status_code == 409 and fields(twice) == ["state"]
    listed = await stack.credit.get(
        "/objections",
        params={"state": "corrected", "merchant_id": place.merchant_id},
        headers=leader,
    )
    assert [o["objection_id"] for o in listed.json()["items"]] == [objection["objection_id"]]
    # The public page keeps the outcome inspection recorded, and says it was found wrong.
    directory = stack.app.state.credit.directory
    await until(lambda: place.merchant_id in directory.merchants, what="credit knows the merchant")
    public = (await stack.credit.get(f"/public/merchants/{place.merchant_id}")).json()
    assert (public["last_inspection_outcome"], public["last_inspection_corrected"]) == (
        "major",
        True,
    )
    # And the market's assessment counts the inspection as passed: it found nothing after all.
    await until(lambda: place.market_id in directory.markets, what="credit knows the market")
    assessed = await stack.credit.get(f"/markets/{place.market_id}/assessment", headers=leader)
    assert assessed.status_code == 200, assessed.text
    parts = {p["part"]: p["value"] for p in assessed.json()["parts"]}
    assert parts["inspection_pass_rate"] == 1.0


async def minor_finding(stack: Stack, kafka: str) -> Found:
    """A merchant a minor finding cost 5 (95, A), its district's clerk and leader, its ledger."""
    place = await registered(stack, kafka)
    event = completed(place, "minor")
    async with TopicWatcher(kafka, SCORES) as scores:
        await stack.send(topics.INSPECTION_EVENTS.name, event, event.subject)
        await scores.wait_for(score_of(place.merchant_id, score=95))
    clerk, leader = stack.token("clerk", place.district), stack.token("leader", place.district)
    return Found(place, clerk, leader, await ledger(stack, place))


async def test_refusals_name_the_field_and_change_nothing(stack: Stack, kafka: str) -> None:
    place, clerk, leader, [registration, finding] = await minor_finding(stack, kafka)
    path = f"/merchants/{place.merchant_id}/objections"

    async def filing(headers: dict[str, str], **body: Any) -> Any:
        return await stack.credit.post(path, json=body, headers=headers)

    blank = await filing(clerk, event_id=finding["event_id"], kind=finding["kind"], statement="  ")
    assert blank.status_code == 422 and fields(blank) == ["statement"]
    unknown = await filing(clerk, event_id="ev_none", kind=finding["kind"], statement="不服")
    assert unknown.status_code == 404 and fields(unknown) == ["event_id"]
    nothing = await filing(
        clerk, event_id=registration["event_id"], kind=registration["kind"], statement="不服"
    )
    assert nothing.status_code == 409 and fields(nothing) == ["kind"]
    for role in ("inspector", "leader"):
        refused = await filing(
            stack.token(role, place.district),
            event_id=finding["event_id"],
            kind=finding["kind"],
            statement="不服",
        )
        assert refused.status_code == 403, role
    listed = await stack.credit.get(
        "/objections", params={"merchant_id": place.merchant_id}, headers=leader
    )
    assert listed.json()["items"] == []

    # The clerk who recorded it does not decide it; another clerk does; a bad decision is named.
    r = await filing(clerk, event_id=finding["event_id"], kind=finding["kind"], statement="不服")
    assert r.status_code == 201, r.text
    decision = f"/objections/{r.json()['objection_id']}/decision"
    same = await stack.credit.post(
        decision, json={"decision": "corrected", "reasoning": "属实"}, headers=clerk
    )
    assert same.status_code == 403
    other = identity.bearer("clerk", place.district, who="second")
    bad = await stack.credit.post(
        decision, json={"decision": "maybe", "reasoning": "属实"}, headers=other
    )
    assert bad.status_code == 422 and "decision" in str(bad.json()["errors"])
    upheld = await stack.credit.post(
        decision, json={"decision": "upheld", "reasoning": "复核无误"}, headers=other
    )
    assert upheld.status_code == 200 and upheld.json()["state"] == "upheld"
    # Once credit has read its topic past the decision, the ledger is as it was.
    await stack.app.state.service.drain_outbox()
    await stack.app.state.service.messaging.caught_up(OBJECTIONS)
    assert {e["kind"] for e in await ledger(stack, place)} == {
        registration["kind"],
        finding["kind"],
    }


async def test_the_objection_ledger_pages_a_window_and_names_bad_values(
    stack: Stack, kafka: str
) -> None:
    place = await registered(stack, kafka)
    clerk, leader = stack.token("clerk", place.district), stack.token("leader", place.district)
    filed = []
    for severity, score in (("minor", 95), ("major", 80)):
        event = completed(place, severity)
        async with TopicWatcher(kafka, SCORES) as scores:
            await stack.send(topics.INSPECTION_EVENTS.name, event, event.subject)
            await scores.wait_for(score_of(place.merchant_id, score=score))
    for entry in [e for e in await ledger(stack, place) if e["disputable"]]:
        r = await stack.credit.post(
            f"/merchants/{place.merchant_id}/objections",
            json={"event_id": entry["event_id"], "kind": entry["kind"], "statement": "不服"},
            headers=clerk,
        )
        assert r.status_code == 201, r.text
        filed.append(r.json())
    assert len(filed) == 2
    first, second = (datetime.fromisoformat(o["filed_at"]) for o in filed)
    window = {
        "filed_from": (first - timedelta(seconds=1)).isoformat(),
        "filed_before": (second + timedelta(seconds=1)).isoformat(),
    }
    pages: list[str] = []
    after = None
    while True:
        params = window | {"limit": 1} | ({"after": after} if after else {})
        r = await stack.credit.get("/objections/filed", params=params, headers=leader)
        assert r.status_code == 200, r.text
        pages += [o["objection_id"] for o in r.json()["items"]]
        after = r.json()["next"]
        if not after:
            break
    assert pages == [filed[1]["objection_id"], filed[0]["objection_id"]]  # newest first
    before = {"filed_from": window["filed_from"], "filed_before": first.isoformat()}
    r = await stack.credit.get("/objections/filed", params=before, headers=leader)
    assert r.status_code == 200 and r.json()["items"] == []  # the end is excluded
    bad = await stack.credit.get(
        "/objections/filed",
        params={"filed_from": "2026-11-01T00:00:00", "after": "nonsense"},
        headers=leader,
    )
    assert bad.status_code == 422 and set(fields(bad)) == {"filed_from", "after"}


async def test_a_withdrawn_objection_is_announced_and_its_entry_disputed_again(
    stack: Stack, kafka: str
) -> None:
    place, clerk, leader, [_, finding] = await minor_finding(stack, kafka)
    path = f"/merchants/{place.merchant_id}/objections"
    asked = {"event_id": finding["event_id"], "kind": finding["kind"], "statement": "不服"}
    r = await stack.credit.post(path, json=asked, headers=clerk)
    assert r.status_code == 201, r.text
    withdrawal = f"/objections/{r.json()['objection_id']}/withdrawal"

    refused = await stack.credit.post(withdrawal, json={"reason": "撤回"}, headers=leader)
    assert refused.status_code == 403
    blank = await stack.credit.post(withdrawal, json={"reason": " "}, headers=clerk)
    assert blank.status_code == 422 and fields(blank) == ["reason"]
    async with TopicWatcher(kafka, OBJECTIONS) as objections:
        # The clerk who recorded it may withdraw it: the merchant's withdrawal needs no second.
        r = await stack.credit.post(withdrawal, json={"reason": "商户撤回异议"}, headers=clerk)
        assert r.status_code == 200 and r.json()["state"] == "withdrawn", r.text
        [withdrawn] = await objections.wait_for(
            lambda rec: (
                rec.json()["type"] == "credit.objection.withdrawn"
                and rec.json()["data"]["objection_id"] == r.json()["objection_id"]
            )
        )
    assert withdrawn.json()["data"]["reason"] == "商户撤回异议"
    twice = await stack.credit.post(withdrawal, json={"reason": "再撤回"}, headers=clerk)
    assert twice.status_code == 409 and fields(twice) == ["state"]
    [_, shown] = await ledger(stack, place)
    assert shown["objection"]["state"] == "withdrawn" and shown["disputable"]
    again = await stack.credit.post(
        path, json=asked | {"statement": "电子秤有检定证书"}, headers=clerk
    )
    assert again.status_code == 201, again.text


async def test_a_repaired_record_stops_counting_and_every_refusal_names_its_field(
    stack: Stack, kafka: str
) -> None:
    """信用修复: a minor finding of 100 days ago, put right; a clerk records the merchant's
    request with its commitment, another clerk grants it, and the score comes back from
    `credit.objections.v1` as `objection.repaired`. The public page tells of no dispute."""
    place = await registered(stack, kafka)
    clerk, leader = stack.token("clerk", place.district), stack.token("leader", place.district)
    other = identity.bearer("clerk", place.district, who="second")
    fresh, old = (
        completed(place, "minor"),
        completed(place, "minor", at=datetime.now(UTC) - timedelta(days=100)),
    )
    async with TopicWatcher(kafka, SCORES) as scores:
        await stack.send(topics.INSPECTION_EVENTS.name, old, old.subject)
        await scores.wait_for(score_of(place.merchant_id, score=95))
    [finding] = [e for e in await ledger(stack, place) if e["kind"] == "inspection.finding.minor"]
    assert finding["repairable"] and finding["disputable"]
    path = f"/merchants/{place.merchant_id}/objections"
    asked = {"event_id": finding["event_id"], "kind": finding["kind"], "ground": "repaired"}

    uncommitted = await stack.credit.post(path, json=asked | {"statement": " "}, headers=clerk)
    assert uncommitted.status_code == 422
    assert fields(uncommitted) == ["statement", "commitment"]
    wrong = await stack.credit.post(
        path, json=asked | {"ground": "mercy", "statement": "x"}, headers=clerk
    )
    assert wrong.status_code == 422 and fields(wrong) == ["ground"]
    request = asked | {"statement": "已整改，递交信用承诺书", "commitment": True}
    async with TopicWatcher(kafka, OBJECTIONS) as objections:
        r = await stack.credit.post(path, json=request, headers=clerk)
        assert r.status_code == 201, r.text
        repair = r.json()
        [filed] = await objections.wait_for(
            lambda rec: rec.json()["data"]["objection_id"] == repair["objection_id"]
        )
    assert filed.json()["data"]["ground"] == "repaired" and filed.json()["data"]["commitment"]
    directory = stack.app.state.credit.directory
    await until(lambda: place.merchant_id in directory.merchants, what="credit knows the merchant")
    public = await stack.credit.get(f"/public/merchants/{place.merchant_id}")
    assert public.status_code == 200 and public.json()["objections_open"] == 0
    again = await stack.credit.post(path, json=request, headers=clerk)
    assert again.status_code == 409 and fields(again) == ["event_id"]

    decision = f"/objections/{repair['objection_id']}/decision"
    corrected = await stack.credit.post(
        decision, json={"decision": "corrected", "reasoning": "整改到位"}, headers=other
    )
    assert corrected.status_code == 422 and fields(corrected) == ["decision"]
    async with TopicWatcher(kafka, SCORES) as scores:
        r = await stack.credit.post(
            decision, json={"decision": "repaired", "reasoning": "整改到位"}, headers=other
        )
        assert r.status_code == 200 and r.json()["state"] == "repaired", r.text
        [back] = await scores.wait_for(score_of(place.merchant_id, score=100))
    assert back.json()["data"]["adjustment"]["kind"] == "objection.repaired"
    entries = {e["kind"]: e for e in await ledger(stack, place)}
    assert entries["objection.repaired"]["delta"] == 5
    assert entries["inspection.finding.minor"]["objection"]["state"] == "repaired"
    listed = await stack.credit.get(
        "/objections",
        params={"state": "repaired", "merchant_id": place.merchant_id},
        headers=leader,
    )
    assert [o["ground"] for o in listed.json()["items"]] == ["repaired"]
    # Closed just now: among those closed within a day; a day count below one is named.
    recent = await stack.credit.get(
        "/objections",
        params={"merchant_id": place.merchant_id, "closed_within_days": 1},
        headers=leader,
    )
    assert [o["objection_id"] for o in recent.json()["items"]] == [repair["objection_id"]]
    none = await stack.credit.get("/objections", params={"closed_within_days": 0}, headers=leader)
    assert none.status_code == 422 and fields(none) == ["closed_within_days"]

    # A finding of today waits its 90 days; nothing was stored for it.
    async with TopicWatcher(kafka, SCORES) as scores:
        await stack.send(topics.INSPECTION_EVENTS.name, fresh, fresh.subject)
        await scores.wait_for(score_of(place.merchant_id, score=95))
    [today] = [
        e
        for e in await ledger(stack, place)
        if e["kind"] == "inspection.finding.minor" and e["objection"] is None
    ]
    assert not today["repairable"] and today["repairable_from"] is not None
    early = await stack.credit.post(
        path,
        json=request | {"event_id": today["event_id"], "kind": today["kind"]},
        headers=clerk,
    )
    assert early.status_code == 409 and fields(early) == ["event_id"]


async def test_a_repair_refused_is_asked_for_again_only_after_its_wait(
    stack: Stack, kafka: str
) -> None:
    """不予修复 on real Postgres: the same clerk's request again at once is refused, naming
    `event_id` and the wait, and the ledger says from when it may be asked again."""
    place = await registered(stack, kafka)
    clerk = stack.token("clerk", place.district)
    other = identity.bearer("clerk", place.district, who="second")
    old = completed(place, "minor", at=datetime.now(UTC) - timedelta(days=100))
    async with TopicWatcher(kafka, SCORES) as scores:
        await stack.send(topics.INSPECTION_EVENTS.name, old, old.subject)
        await scores.wait_for(score_of(place.merchant_id, score=95))
    [finding] = [e for e in await ledger(stack, place) if e["kind"] == "inspection.finding.minor"]
    path = f"/merchants/{place.merchant_id}/objections"
    request = {"event_id": finding["event_id"], "kind": finding["kind"], "ground": "repaired",
               "statement": "已整改，递交信用承诺书", "commitment": True}  # fmt: skip
    r = await stack.credit.post(path, json=request, headers=clerk)
    assert r.status_code == 201, r.text
    refused = await stack.credit.post(
        f"/objections/{r.json()['objection_id']}/decision",
        json={"decision": "upheld", "reasoning": "整改照片不能说明问题已解决"},
        headers=other,
    )
    assert refused.status_code == 200 and refused.json()["state"] == "upheld", refused.text
    decided_at = datetime.fromisoformat(refused.json()["decided_at"])

    again = await stack.credit.post(path, json=request, headers=clerk)
    assert again.status_code == 409 and fields(again) == ["event_id"]
    assert "may be asked again 30 days after" in again.json()["errors"][0]["reason"]
    [entry] = [e for e in await ledger(stack, place) if e["kind"] == "inspection.finding.minor"]
    assert not entry["repairable"] and entry["objection"]["state"] == "upheld"
    assert datetime.fromisoformat(entry["repair_opens_at"]) == decided_at + timedelta(days=30)
    listed = await stack.credit.get(
        "/objections", params={"merchant_id": place.merchant_id}, headers=clerk
    )
    assert [o["state"] for o in listed.json()["items"]] == ["upheld"]  # nothing more stored

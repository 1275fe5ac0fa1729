"""The ACLs deploy/kafka/acls.py derives from the topic catalog, and how they are applied.

The broker-side proof (a principal refused what it may not do) is
tests/integration/security/test_kafka_acls.py; these pin the rules themselves.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace
from types import SimpleNamespace
from typing import Any

import pytest

from contracts.topics import TOPICS, Topic, all_topics, dead_letter_topics
from deploy.kafka import acls
from deploy.kafka.acls import (
    CONSOLE,
    INTEGRATOR,
    SERVICES,
    TERMINALS,
    Acl,
    Operation,
    PatternType,
    ResourceType,
    catalog_acls,
    plan_acls,
)
from services.runtime.dead_letters import RESOLVED_GROUP

ACLS = catalog_acls()


def topics_with(principal: str, operation: Operation) -> set[str]:
    return {
        a.resource_name
        for a in ACLS
        if a.principal == principal
        and a.resource_type is ResourceType.TOPIC
        and a.operation is operation
    }


def groups_of(principal: str) -> set[tuple[str, PatternType]]:
    return {
        (a.resource_name, a.pattern)
        for a in ACLS
        if a.principal == principal and a.resource_type is ResourceType.GROUP
    }


# --- derived from the catalog -----------------------------------------------------------------
def test_every_catalog_producer_may_write_its_topic() -> None:
    for topic in all_topics():
        for producer in topic.producers:
            principal = acls.producer_principal(producer)
            assert acls.topic_acl(principal, topic.name, Operation.WRITE) in ACLS, (
                producer,
                topic.name,
            )


def test_every_catalog_consumer_may_read_its_topic() -> None:
    for topic in all_topics():
        for consumer in topic.consumers:
            assert acls.topic_acl(consumer, topic.name, Operation.READ) in ACLS, (
                consumer,
                topic.name,
            )


def test_nobody_writes_or_reads_beyond_the_catalog() -> None:
    for acl in ACLS:
        if acl.resource_type is not ResourceType.TOPIC:
            continue
        topic = next(t for t in all_topics() if t.name == acl.resource_name)
        if acl.operation is Operation.WRITE:
            assert acl.principal in {acls.producer_principal(p) for p in topic.producers}, acl
        elif acl.principal != INTEGRATOR:
            assert acl.operation is Operation.READ
            grouplessly = topic in acls.GROUPLESS_READERS.get(acl.principal, ())
            assert acl.principal in topic.consumers or grouplessly, acl


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_writes_the_dead_letters_of_exactly_the_topics_it_consumes(service: str) -> None:
    consumed = {t.name for t in TOPICS if service in t.consumers}
    dlqs = {t.name for t in dead_letter_topics()}
    assert topics_with(service, Operation.WRITE) & dlqs == {f"{name}.dlq" for name in consumed}
    assert topics_with(service, Operation.READ) == consumed
    assert not topics_with(service, Operation.READ) & dlqs


def test_the_rules_match_design_section_2() -> None:
    """Spelled out, so a catalog change that widens a principal's rights shows up here too."""
    writes = {
        "registry": {"registry.markets.v1", "registry.merchants.v1", "registry.terminals.v1"},
        "telemetry": {"telemetry.risks.v1", "telemetry.rejected.v1", "telemetry.readings.v1"},
        "complaints": {"complaints.events.v1", "complaints.suggestions.v1"},
        "inspection": {"inspection.events.v1"},
        "credit": {
            "credit.scores.v1",
            "credit.assessments.v1",
            "credit.honours.v1",
            "credit.objections.v1",
        },
        # the campaign's topics moved with it from the registry, names and all
        "campaign": {
            "registry.campaign.v1",
            "registry.disclosures.v1",
            "campaign.reports.v1",
            "campaign.self_inspections.v1",
            "campaign.training.v1",
            "campaign.duties.v1",
            "campaign.meetings.v1",
            "campaign.enforcement.v1",
        },
        CONSOLE: set(),
        TERMINALS: {"telemetry.readings.v1"},
        INTEGRATOR: {"complaints.intake.v1"},
    }
    reads = {
        "registry": {"inspection.events.v1", "registry.campaign.v1"},
        "telemetry": {"telemetry.readings.v1", "registry.terminals.v1", "registry.markets.v1"},
        "complaints": {
            "registry.markets.v1",
            "registry.merchants.v1",
            "complaints.intake.v1",
            "inspection.events.v1",
        },
        "inspection": {
            "telemetry.risks.v1",
            "complaints.events.v1",
            "credit.scores.v1",
            "credit.honours.v1",
            "registry.markets.v1",
            "registry.merchants.v1",
            # failed renovation checks open market-level tasks (issue 18)
            "registry.campaign.v1",
            # a finding found wrong (信用异议 corrected) lets its orders lapse
            "credit.objections.v1",
        },
        "credit": {
            "inspection.events.v1",
            "complaints.events.v1",
            "telemetry.risks.v1",
            "registry.merchants.v1",
            "registry.markets.v1",
            "campaign.duties.v1",
            "campaign.enforcement.v1",
            # its own: a correction reaches the ledger from the topic (信用异议)
            "credit.objections.v1",
        },
        "campaign": {
            "registry.markets.v1",
            "registry.merchants.v1",
            "inspection.events.v1",
            "complaints.events.v1",
            "complaints.suggestions.v1",
        },
        CONSOLE: {"telemetry.risks.v1"},
        TERMINALS: set(),
        INTEGRATOR: {t.name for t in TOPICS},
    }
    for principal, wanted in writes.items():
        own = {t for t in topics_with(principal, Operation.WRITE) if not t.endswith(".dlq")}
        assert own == wanted, principal
    for principal, wanted in reads.items():
        assert topics_with(principal, Operation.READ) == wanted, principal


def test_terminals_may_only_write_readings() -> None:
    mine = [a for a in ACLS if a.principal == TERMINALS]
    assert mine == [acls.topic_acl(TERMINALS, "telemetry.readings.v1", Operation.WRITE)]


def test_the_console_may_only_read_the_risks_in_no_group() -> None:
    mine = [a for a in ACLS if a.principal == CONSOLE]
    assert mine == [acls.topic_acl(CONSOLE, "telemetry.risks.v1", Operation.READ)]
    assert CONSOLE in acls.PRINCIPALS and CONSOLE in acls.managed_principals()


async def test_the_consoles_acl_is_what_its_risk_feed_subscribes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Read from the code: services/console/live.py's consumer, its topics and its group."""
    import aiokafka

    from services.console.live import RiskFeed
    from services.console.settings import ConsoleSettings

    seen: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    class Recording:
        def __init__(self, *topics: Any, **options: Any) -> None:
            seen.append((topics, options))

        async def start(self) -> None:
            raise asyncio.CancelledError  # ends the feed's loop before any network

        async def stop(self) -> None:
            pass

    monkeypatch.setattr(aiokafka, "AIOKafkaConsumer", Recording)
    with pytest.raises(asyncio.CancelledError):
        await RiskFeed(ConsoleSettings.from_environ({}))._run()
    [(subscribed, options)] = seen
    assert options["group_id"] is None and options["enable_auto_commit"] is False
    reads = {
        (a.resource_name, a.operation)
        for a in ACLS
        if a.principal == CONSOLE and a.resource_type is ResourceType.TOPIC
    }
    assert reads == {(topic, Operation.READ) for topic in subscribed}
    # No group: the console needs (and has) no group ACL.
    assert not groups_of(CONSOLE)


def test_the_integrator_reads_and_describes_every_topic_but_the_dead_letters() -> None:
    public = {t.name for t in TOPICS}
    assert topics_with(INTEGRATOR, Operation.READ) == public
    assert topics_with(INTEGRATOR, Operation.DESCRIBE_CONFIGS) == public
    assert topics_with(INTEGRATOR, Operation.WRITE) == {"complaints.intake.v1"}
    assert groups_of(INTEGRATOR) == {("integrator-", PatternType.PREFIXED)}


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_reads_its_own_consumer_groups_only(service: str) -> None:
    groups = groups_of(service)
    assert (f"sentinel-{service}", PatternType.PREFIXED) in groups
    allowed = [name for name, _ in groups]
    # The groups the services name (runtime settings.group_id and its suffixed projections).
    for group in (f"sentinel-{service}", f"sentinel-{service}-markets", f"sentinel-{service}-x"):
        assert any(group.startswith(prefix) for prefix in allowed), group
    for other in SERVICES:
        if other != service:
            assert not any(f"sentinel-{other}".startswith(prefix) for prefix in allowed)
    # READ (join, commit) only on groups of its own; the dead letters' watermark it may only see.
    for acl in ACLS:
        if acl.resource_type is ResourceType.GROUP and acl.resource_name != "sentinel-dlq":
            assert acl.operation is Operation.READ, acl


def test_services_that_park_may_read_the_dead_letters_watermark_and_not_move_it() -> None:
    resolved = [a for a in ACLS if a.resource_name == acls.DLQ_RESOLVED_GROUP]
    parkers = {acls.producer_principal(p) for t in dead_letter_topics() for p in t.producers}
    assert {a.principal for a in resolved} == parkers == set(SERVICES)
    for acl in resolved:
        assert (acl.resource_type, acl.pattern) == (ResourceType.GROUP, PatternType.LITERAL)
        assert acl.operation is Operation.DESCRIBE, acl  # not READ: no commit, no join
    # No prefix a principal holds READ on covers it either.
    for acl in ACLS:
        if acl.resource_type is ResourceType.GROUP and acl.operation is Operation.READ:
            assert not acls.DLQ_RESOLVED_GROUP.startswith(acl.resource_name), acl


def test_the_resolved_group_is_the_one_the_runtime_and_the_cli_use() -> None:
    assert acls.DLQ_RESOLVED_GROUP == RESOLVED_GROUP


def test_the_credit_rebuild_group_is_allowed_to_credit_only() -> None:
    owners = {p for p in SERVICES if ("credit-rebuild-", PatternType.PREFIXED) in groups_of(p)}
    assert owners == {"credit"}


def test_nothing_broad_is_granted() -> None:
    for acl in ACLS:
        assert acl.resource_name not in ("*", ""), acl
        assert acl.resource_type in (ResourceType.TOPIC, ResourceType.GROUP), acl
        assert acl.operation not in (Operation.ALL, Operation.ANY, Operation.ALTER), acl
        assert acl.principal not in acls.SUPER_USERS, acl
        assert acl.pattern is PatternType.LITERAL or acl.resource_type is ResourceType.GROUP
    assert len(ACLS) == len(set(ACLS))
    assert sorted(ACLS) == ACLS


def test_a_producer_without_a_principal_fails_the_derivation() -> None:
    robots = Topic("robots.v1", "id", "d", producers=("robots",), consumers=(), event_types=())
    with pytest.raises(KeyError):
        catalog_acls([robots])


def test_a_new_consumer_gets_its_read_and_its_dead_letter_write() -> None:
    base = next(t for t in TOPICS if t.name == "credit.assessments.v1")
    extended = replace(base, consumers=("inspection",))
    derived = catalog_acls(
        (*(t for t in TOPICS if t is not base), extended, *dead_letter_topics_of(extended))
    )
    assert acls.topic_acl("inspection", extended.name, Operation.READ) in derived
    assert acls.topic_acl("inspection", extended.dlq, Operation.WRITE) in derived


def dead_letter_topics_of(topic: Topic) -> list[Topic]:
    return [replace(topic, name=topic.dlq, producers=topic.consumers, consumers=())]


def test_the_table_names_every_acl() -> None:
    table = acls.render_table(ACLS).splitlines()
    assert len(table) == len(ACLS)
    assert "terminals   WRITE            topic telemetry.readings.v1" in table
    assert "credit      READ             group sentinel-credit (prefixed)" in table


# --- planning and applying --------------------------------------------------------------------
def test_the_plan_creates_what_is_missing_and_removes_only_managed_extras() -> None:
    wanted = [
        acls.topic_acl("registry", "registry.markets.v1", Operation.WRITE),
        acls.group_prefix_acl("registry", "sentinel-registry"),
    ]
    stale = acls.topic_acl("registry", "credit.scores.v1", Operation.WRITE)
    operator = acls.topic_acl("ops-reader", "credit.scores.v1", Operation.READ)
    plan = plan_acls(wanted, [wanted[0], stale, operator])
    assert plan.create == [wanted[1]]
    assert plan.delete == [stale]
    assert plan_acls(wanted, wanted).empty


@dataclass
class FakeBroker:
    """Answers DescribeAcls/CreateAcls/DeleteAcls like a broker whose ACLs show up one
    describe late (they reach the authorizer through the metadata log)."""

    acls: set[tuple[Any, ...]]
    pending: set[tuple[Any, ...]]
    requests: list[str]

    async def _send_request(self, request: Any) -> Any:
        kind = type(request).__name__
        self.requests.append(kind)
        a = request
        key = (
            a._resource_type,
            a._resource_name,
            a._resource_pattern_type_filter,
            a._principal,
            a._operation,
        )
        if kind == "DescribeAclsRequest":
            self.acls |= self.pending
            self.pending = set()
            resources = [
                (rt, name, pattern, [(principal, "*", op, 3)])
                for rt, name, pattern, principal, op in sorted(self.acls)
            ]
            return SimpleNamespace(error_code=0, error_message="", resources=resources)
        if kind == "CreateAclsRequest":
            self.pending.add(key)
            return SimpleNamespace(creation_responses=[(0, "")])
        assert kind == "DeleteAclsRequest"
        self.acls.discard(key)
        return SimpleNamespace(filter_responses=[(0, "", [])])


def as_key(acl: Acl) -> tuple[Any, ...]:
    return (
        int(acl.resource_type),
        acl.resource_name,
        int(acl.pattern),
        acl.kafka_principal,
        int(acl.operation),
    )


async def test_apply_reconciles_and_waits_until_the_broker_shows_them() -> None:
    stale = acls.topic_acl("telemetry", "credit.scores.v1", Operation.WRITE)
    operator = acls.topic_acl("ops-reader", "credit.scores.v1", Operation.READ)
    broker = FakeBroker({as_key(stale), as_key(operator)}, set(), [])
    plan = await acls.apply_acls(broker, ACLS, time.monotonic() + 10)
    assert len(plan.create) == len(ACLS)
    assert plan.delete == [stale]
    assert broker.acls == {as_key(a) for a in ACLS} | {as_key(operator)}
    assert broker.requests.count("CreateAclsRequest") == len(ACLS)
    # A second run finds everything in place and changes nothing.
    broker.requests.clear()
    again = await acls.apply_acls(broker, ACLS, time.monotonic() + 10)
    assert again.empty
    assert broker.requests == ["DescribeAclsRequest"]
    assert acls.describe_plan(again, len(ACLS)) == f"acls: all {len(ACLS)} catalog ACLs in place"


async def test_apply_gives_up_at_the_deadline() -> None:
    class Deaf(FakeBroker):
        async def _send_request(self, request: Any) -> Any:
            if type(request).__name__ == "CreateAclsRequest":
                return SimpleNamespace(creation_responses=[(0, "")])  # never shows up
            return await super()._send_request(request)

    with pytest.raises(acls.AclError, match="not in place in time"):
        await acls.apply_acls(Deaf(set(), set(), []), ACLS[:2], time.monotonic() + 0.3)


async def test_a_refused_create_is_an_error() -> None:
    class Refusing(FakeBroker):
        async def _send_request(self, request: Any) -> Any:
            if type(request).__name__ == "CreateAclsRequest":
                return SimpleNamespace(creation_responses=[(31, "Cluster authorization failed")])
            return await super()._send_request(request)

    with pytest.raises(acls.AclError, match="Kafka error 31"):
        await acls.apply_acls(Refusing(set(), set(), []), ACLS[:1], time.monotonic() + 5)

"""Kafka principals and the ACLs each one gets, derived from the topic catalog.

The one place the rules live: the local stack's `secure` profile and docker-compose's `topics`
provisioner both apply `catalog_acls()` (through `deploy/local/stack.py provision --acls`).

    python -m deploy.kafka.acls          # the table of ACLs, as docs/operations.md shows it

Rules (contracts/topics.py is the source; nothing here names a topic):
- a producer of a topic gets WRITE on it (catalog producers; a `.dlq` topic is produced by the
  consumers of its topic, so each service may park what it cannot handle);
- a consumer of a topic gets READ on it (READ implies DESCRIBE);
- each service gets READ on the consumer groups whose names start with `sentinel-<service>`
  (`sentinel-inspection`, `sentinel-inspection-markets`, ...), plus its extra prefixes below;
- `terminals` may only write `telemetry.readings.v1` (the catalog's "terminals" producer);
- `integrator` reads and describes every topic that is not a dead-letter topic, writes only what
  the catalog lists "integrators" as producing (`complaints.intake.v1`), and uses consumer groups
  named `integrator-...`;
- `console` (the staff console) only READs `telemetry.risks.v1`, in no consumer group, for the
  risk board's live feed (services/console/live.py, docs/console.md): not a catalog consumer, so
  no group and no dead-letter topic;
- each service that may park on a dead-letter topic may DESCRIBE the consumer group
  `sentinel-dlq`, whose committed offsets are the resolved watermark of the dead letters
  (services/runtime/dead_letters.py): it reads them for its gauge of unresolved dead letters and
  can never move them; only `admin` (`sentinel dlq republish` / `discard`) commits there;
- `admin` is a super user (broker and provisioning); it needs no ACL.
An idempotent producer needs no cluster ACL: since Kafka 3.0 (KIP-679) WRITE on a topic is
enough for InitProducerId, and no client here uses transactions.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from contracts.topics import TELEMETRY_RISKS, Topic, all_topics

SERVICES: tuple[str, ...] = (
    "registry",
    "telemetry",
    "inspection",
    "complaints",
    "credit",
    "campaign",
)
CONSOLE = "console"
TERMINALS = "terminals"
INTEGRATOR = "integrator"
ADMIN = "admin"
# Every principal with a SCRAM credential, in the order the env file lists them.
PRINCIPALS: tuple[str, ...] = (*SERVICES, CONSOLE, TERMINALS, INTEGRATOR, ADMIN)
SUPER_USERS: tuple[str, ...] = (ADMIN,)

# Catalog producer names that are not services, and the principal that writes for them.
EXTERNAL_PRODUCERS: Mapping[str, str] = {"terminals": TERMINALS, "integrators": INTEGRATOR}
# Consumer groups outside `sentinel-<service>`: credit's rebuild replays the ledger topics in a
# throw-away group `credit-rebuild-<id>` (services/credit/rebuild.py).
EXTRA_GROUP_PREFIXES: Mapping[str, tuple[str, ...]] = {"credit": ("credit-rebuild-",)}
INTEGRATOR_GROUP_PREFIX = "integrator-"
# The resolved watermark of the dead letters: services/runtime/dead_letters.py RESOLVED_GROUP (a
# unit test keeps the two equal; the provisioner's image does not hold the services).
DLQ_RESOLVED_GROUP = "sentinel-dlq"
# Principals that read topics outside the catalog's consumers, with no consumer group (so no
# group ACL, and nothing to park on a dead-letter topic): the console's risk board follows
# telemetry.risks.v1 from its end, one group-less consumer per process (services/console/live.py).
GROUPLESS_READERS: Mapping[str, tuple[Topic, ...]] = {CONSOLE: (TELEMETRY_RISKS,)}


class ResourceType(enum.IntEnum):
    """Kafka's protocol codes (org.apache.kafka.common.resource.ResourceType)."""

    ANY = 1
    TOPIC = 2
    GROUP = 3
    CLUSTER = 4
    TRANSACTIONAL_ID = 5


class PatternType(enum.IntEnum):
    ANY = 1
    MATCH = 2
    LITERAL = 3
    PREFIXED = 4


class Operation(enum.IntEnum):
    ANY = 1
    ALL = 2
    READ = 3
    WRITE = 4
    CREATE = 5
    DELETE = 6
    ALTER = 7
    DESCRIBE = 8
    CLUSTER_ACTION = 9
    DESCRIBE_CONFIGS = 10
    ALTER_CONFIGS = 11
    IDEMPOTENT_WRITE = 12


class Permission(enum.IntEnum):
    ANY = 1
    DENY = 2
    ALLOW = 3


@dataclass(frozen=True, order=True)
class Acl:
    """One ALLOW rule for any host: `principal` may `operation` on the resource."""

    principal: str  # the SCRAM user name; the Kafka principal is `User:<principal>`
    resource_type: ResourceType
    resource_name: str
    pattern: PatternType
    operation: Operation

    @property
    def kafka_principal(self) -> str:
        return f"User:{self.principal}"

    def line(self) -> str:
        pattern = "" if self.pattern is PatternType.LITERAL else f" ({self.pattern.name.lower()})"
        return (
            f"{self.principal:<11} {self.operation.name:<16} "
            f"{self.resource_type.name.lower()} {self.resource_name}{pattern}"
        )


def topic_acl(principal: str, topic: str, operation: Operation) -> Acl:
    return Acl(principal, ResourceType.TOPIC, topic, PatternType.LITERAL, operation)


def group_prefix_acl(principal: str, prefix: str) -> Acl:
    return Acl(principal, ResourceType.GROUP, prefix, PatternType.PREFIXED, Operation.READ)


def group_describe_acl(principal: str, group: str) -> Acl:
    return Acl(principal, ResourceType.GROUP, group, PatternType.LITERAL, Operation.DESCRIBE)


def producer_principal(producer: str) -> str:
    """The principal that writes for a catalog producer; KeyError for one nobody owns."""
    if producer in SERVICES:
        return producer
    return EXTERNAL_PRODUCERS[producer]


def is_dead_letter(topic: Topic) -> bool:
    return topic.name.endswith(".dlq")


def catalog_acls(topics: Iterable[Topic] | None = None) -> list[Acl]:
    """Every ACL the catalog implies, sorted and without duplicates."""
    catalog = tuple(all_topics() if topics is None else topics)
    acls: set[Acl] = set()
    for topic in catalog:
        for producer in topic.producers:
            acls.add(topic_acl(producer_principal(producer), topic.name, Operation.WRITE))
        for consumer in topic.consumers:
            acls.add(topic_acl(consumer, topic.name, Operation.READ))
        if is_dead_letter(topic):
            for producer in topic.producers:
                acls.add(group_describe_acl(producer_principal(producer), DLQ_RESOLVED_GROUP))
        else:
            acls.add(topic_acl(INTEGRATOR, topic.name, Operation.READ))
            acls.add(topic_acl(INTEGRATOR, topic.name, Operation.DESCRIBE_CONFIGS))
    names = {topic.name for topic in catalog}
    for principal, read in GROUPLESS_READERS.items():
        for topic in read:
            if topic.name in names:
                acls.add(topic_acl(principal, topic.name, Operation.READ))
    for service in SERVICES:
        acls.add(group_prefix_acl(service, f"sentinel-{service}"))
        for prefix in EXTRA_GROUP_PREFIXES.get(service, ()):
            acls.add(group_prefix_acl(service, prefix))
    acls.add(group_prefix_acl(INTEGRATOR, INTEGRATOR_GROUP_PREFIX))
    return sorted(acls)


def managed_principals() -> tuple[str, ...]:
    """The principals whose ACLs the provisioner owns (it removes theirs that are not wanted)."""
    return tuple(p for p in PRINCIPALS if p not in SUPER_USERS)


def render_table(acls: Sequence[Acl]) -> str:
    return "\n".join(acl.line() for acl in acls) + "\n"


# --- applying them with the Admin API ---------------------------------------------------------
@dataclass
class AclPlan:
    create: list[Acl]
    delete: list[Acl]

    @property
    def empty(self) -> bool:
        return not (self.create or self.delete)


def plan_acls(desired: Iterable[Acl], existing: Iterable[Acl]) -> AclPlan:
    """Create what is missing; delete what a managed principal has beyond the catalog's rules.

    ACLs of other principals (an operator's own additions) are left alone.
    """
    want, have = set(desired), set(existing)
    managed = set(managed_principals())
    return AclPlan(
        create=sorted(want - have),
        delete=sorted(a for a in have - want if a.principal in managed),
    )


class AclError(RuntimeError):
    pass


def _parse_described(response: Any) -> list[Acl]:
    found: list[Acl] = []
    for resource in response.resources:
        resource_type, name, pattern = resource[0], resource[1], resource[2]
        for principal, _host, operation, permission in resource[3]:
            if permission != Permission.ALLOW or not principal.startswith("User:"):
                continue
            try:
                found.append(
                    Acl(
                        principal.removeprefix("User:"),
                        ResourceType(resource_type),
                        name,
                        PatternType(pattern),
                        Operation(operation),
                    )
                )
            except ValueError:  # a resource or operation this module never grants
                continue
    return found


async def describe_acls(admin: Any) -> list[Acl]:
    """Every ALLOW ACL the broker knows (aiokafka's admin client has no ACL methods: this sends
    the DescribeAcls request it ships)."""
    from aiokafka.protocol.admin import DescribeAclsRequest

    request = DescribeAclsRequest(
        ResourceType.ANY,
        None,  # null name, principal and host: match any
        PatternType.ANY,
        None,
        None,
        Operation.ANY,
        Permission.ANY,
    )
    response = await admin._send_request(request)
    if response.error_code:
        raise AclError(f"DescribeAcls: Kafka error {response.error_code} {response.error_message}")
    return _parse_described(response)


async def _create(admin: Any, acl: Acl) -> None:
    from aiokafka.protocol.admin import CreateAclsRequest

    request = CreateAclsRequest(
        acl.resource_type,
        acl.resource_name,
        acl.pattern,
        acl.kafka_principal,
        "*",
        acl.operation,
        Permission.ALLOW,
    )
    response = await admin._send_request(request)
    for code, message in response.creation_responses:
        if code:
            raise AclError(f"CreateAcls {acl.line().strip()}: Kafka error {code} {message}")


async def _delete(admin: Any, acl: Acl) -> None:
    from aiokafka.protocol.admin import DeleteAclsRequest

    request = DeleteAclsRequest(
        acl.resource_type,
        acl.resource_name,
        acl.pattern,
        acl.kafka_principal,
        "*",
        acl.operation,
        Permission.ALLOW,
    )
    response = await admin._send_request(request)
    for code, message, *_matches in response.filter_responses:
        if code:
            raise AclError(f"DeleteAcls {acl.line().strip()}: Kafka error {code} {message}")


async def apply_acls(admin: Any, desired: Sequence[Acl], deadline: float) -> AclPlan:
    """Make the broker's ACLs for the managed principals exactly `desired`; return the first plan.

    `admin` is a started aiokafka AIOKafkaAdminClient authenticated as a super user. ACLs reach
    the authorizer through the metadata log a moment after CreateAcls answers, so this polls
    DescribeAcls until the broker shows the wanted set.
    """
    first: AclPlan | None = None
    while True:
        plan = plan_acls(desired, await describe_acls(admin))
        if first is None:
            first = plan
        if plan.empty:
            return first
        if time.monotonic() > deadline:
            raise AclError(
                f"ACLs not in place in time: {len(plan.create)} missing, "
                f"{len(plan.delete)} to remove"
            )
        await asyncio.gather(
            *(_create(admin, acl) for acl in plan.create),
            *(_delete(admin, acl) for acl in plan.delete),
        )
        await asyncio.sleep(0.2)


def describe_plan(plan: AclPlan, total: int) -> str:
    if plan.empty:
        return f"acls: all {total} catalog ACLs in place"
    return f"acls: created {len(plan.create)}, removed {len(plan.delete)} ({total} in the catalog)"


if __name__ == "__main__":
    print(render_table(catalog_acls()), end="")
